"""docs/simulator.md and the README name every simulator flag there is, and no flag there is not."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from pipeline.simulator import SimulatorConfig

ROOT = Path(__file__).resolve().parents[2]
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def simulator_flags() -> set[str]:
    """Every flag `swr-etl simulate` accepts: one per SimulatorConfig field (`add_arguments`)."""
    return {"--" + f.name.replace("_", "-") for f in fields(SimulatorConfig)}


def test_docs_list_every_simulator_flag() -> None:
    named = set(FLAG.findall((ROOT / "docs" / "simulator.md").read_text()))
    assert simulator_flags() - named == set()


def test_docs_name_no_flag_the_simulator_lacks() -> None:
    """Up to its Throughput section (a benchmark's own options), the page names simulator flags only."""
    text = (ROOT / "docs" / "simulator.md").read_text().split("\n## Throughput\n")[0]
    assert set(FLAG.findall(text)) - simulator_flags() - {"--help"} == set()


def test_readme_names_no_flag_the_simulator_lacks() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## The SWR simulator\n", 1)[1].split("\n## ", 1)[0]
    assert set(FLAG.findall(section)) - simulator_flags() == set()
