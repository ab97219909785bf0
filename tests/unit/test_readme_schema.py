"""The README's tables list names every table of the schema, and the README names every view."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The migrated schema as tests/migration checks it against the migrations (`column table.name …`, `view …`).
SNAPSHOT = (ROOT / "tests" / "migration" / "schema_snapshot.sql").read_text()
README = (ROOT / "README.md").read_text()


def schema_relations() -> tuple[set[str], set[str]]:
    """The schema's tables and views (alembic's own bookkeeping left out)."""
    views = set(re.findall(r"^view (\w+) ", SNAPSHOT, flags=re.M))
    relations = set(re.findall(r"^column (\w+)\.", SNAPSHOT, flags=re.M))
    return relations - views - {"alembic_version"}, views


def documented_tables() -> list[str]:
    """The tables the README's `## The tables and example SQL` section lists, one bullet each."""
    section = README.split("\n## The tables and example SQL\n", 1)[1].split("```sql", 1)[0]
    return re.findall(r"^- `(\w+)` — ", section, flags=re.M)


def test_the_tables_list_names_every_table_once() -> None:
    tables, _ = schema_relations()
    documented = documented_tables()
    assert sorted(documented) == sorted(set(documented))
    assert set(documented) == tables


def test_the_readme_names_every_view() -> None:
    _, views = schema_relations()
    assert {view for view in views if f"`{view}`" not in README} == set()
