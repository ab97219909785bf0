"""The README's configuration table: every setting once, with its variables, flag, default and meaning."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from pipeline.cli import SOURCE_FLAGS, TUNING_FLAGS
from pipeline.settings import (
    ENV_KEYS,
    DatabaseSettings,
    HttpSettings,
    MonitoringSettings,
    ProxySettings,
    Settings,
    SourceSettings,
)

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = ["setting", "environment", "flag", "default", "meaning"]
# Settings fields that are not settings: what the loader found in the environment that configures nothing.
NOT_SETTINGS = {"unrecognized_env"}
SECTIONS = {"http": HttpSettings, "database": DatabaseSettings, "monitoring": MonitoringSettings}
# Flags that set a setting (the crawl's, and the options every command shares).
FLAG_KEYS = ["database_url", "log_level", "log_format", "full", *SOURCE_FLAGS, *TUNING_FLAGS]


def configuration_table() -> dict[str, dict[str, str]]:
    """The first table under `## Configuration`: setting name → its cells by column."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == COLUMNS
    rows: dict[str, dict[str, str]] = {}
    for line in lines[2:]:
        if not line.startswith("| `"):
            break  # the next table
        cells = dict(zip(COLUMNS, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
        name = cells["setting"].strip("`")
        assert name not in rows, f"{name} has two rows"
        rows[name] = cells
    return rows


def expected_settings() -> set[str]:
    """Every setting the code knows, named as the file names it (`[section]` key)."""
    names = {f"{section}.{f.name}" for section, cls in SECTIONS.items() for f in fields(cls)}
    names |= {f"source.{f.name}" for f in fields(SourceSettings)}
    names |= {f"proxies.{f.name}" for f in fields(ProxySettings)}
    nested = {"sources", "proxies", *SECTIONS}
    names |= {f"run.{f.name}" for f in fields(Settings) if f.name not in nested | NOT_SETTINGS}
    return names | {"sources"}


def row_of(section: str, key: str) -> str:
    """The table row an ENV_KEYS entry belongs to (`source.token_file` → `source.token`)."""
    return f"{section}.{key.removesuffix('_file')}"


def test_every_setting_has_exactly_one_row() -> None:
    assert set(configuration_table()) == expected_settings()


def test_every_variable_is_named_once_on_its_settings_row() -> None:
    table = configuration_table()
    named = [v for row in table.values() for v in re.findall(r"\bSWR_ETL_[A-Z0-9_]+\b", row["environment"])]
    assert sorted(named) == sorted(f"SWR_ETL_{suffix}" for suffix in ENV_KEYS)
    for suffix, (section, key) in ENV_KEYS.items():
        assert f"`SWR_ETL_{suffix}`" in table[row_of(section, key)]["environment"], suffix


def test_every_flag_is_on_its_settings_row() -> None:
    table = configuration_table()
    for key in FLAG_KEYS:
        section, name = ENV_KEYS[key.upper()]
        assert f"`--{key.replace('_', '-')}`" in table[row_of(section, name)]["flag"], key


def _shown(value: object) -> str:
    """How the table writes a default: 10.0 → 10, False → false, None or "" → none."""
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _defaults() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for section, cls in SECTIONS.items():
        found += [(f"{section}.{f.name}", getattr(cls(), f.name)) for f in fields(cls) if f.name != "url"]
    run = Settings()
    found += [
        (name, getattr(run, name.removeprefix("run.")))
        for name in expected_settings()
        if name.startswith("run.")
    ]
    return found


@pytest.mark.parametrize(("name", "value"), _defaults(), ids=[name for name, _ in _defaults()])
def test_every_default_is_the_codes(name: str, value: object) -> None:
    cell = re.sub(r"(?<=\d),(?=\d{3})", "", configuration_table()[name]["default"])
    assert re.match(rf"`?{re.escape(_shown(value))}\b", cell), f"{name}: {cell!r} is not {value!r}"


def test_every_row_says_what_the_setting_means() -> None:
    for name, row in configuration_table().items():
        assert row["default"] and len(row["meaning"]) > 10, name


def test_the_config_file_names_every_setting_of_its_sections() -> None:
    """config/swr-etl.toml shows each file setting, as a key or commented out, and its variables."""
    text = (ROOT / "config" / "swr-etl.toml").read_text()
    for name in expected_settings():
        section, _, key = name.partition(".")
        if section in ("database", "http", "monitoring", "run", "source"):
            assert re.search(rf"^#? ?{key} = ", text, flags=re.M), name
    for suffix in ENV_KEYS:
        assert f"SWR_ETL_{suffix}" in text, suffix
