"""The README's Architecture section names every module of the package."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pipeline"
# Packages the section names as a whole (`settings/`, `simulator/`, `migrations/`), and entry points.
WHOLE = ("settings", "simulator", "migrations")


def architecture() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]


def test_every_module_is_named() -> None:
    section = architecture()
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in WHOLE or path.stem in ("__init__", "__main__"):
            continue
        if f"`{relative.as_posix()}`" not in section and f"`{path.name}`" not in section:
            missing.append(relative.as_posix())
    assert missing == []
    assert all(f"`{package}/`" in section for package in WHOLE)
