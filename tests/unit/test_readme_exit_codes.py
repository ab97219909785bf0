"""The README's exit-code table lists exactly the codes the errors and the run can end with."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline import errors, run

ROOT = Path(__file__).resolve().parents[2]


def documented_codes() -> set[int]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if re.match(r"\| \d", line)]
    return {int(code) for cell in rows for code in re.findall(r"\d+", cell)}


def fatal_classes(cls: type[errors.FatalError]) -> list[type[errors.FatalError]]:
    return [cls, *(sub for child in cls.__subclasses__() for sub in fatal_classes(child))]


def test_the_table_lists_every_exit_code() -> None:
    fatal = {c.exit_code for c in fatal_classes(errors.FatalError) if isinstance(c.exit_code, int)}
    ends = {run.EXIT_OK, run.EXIT_FATAL, run.EXIT_PARTIAL, *run.SIGNAL_EXIT.values()}
    assert documented_codes() == fatal | ends
