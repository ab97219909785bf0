"""The head revision read from the scripts' headers is alembic's head, without importing alembic."""

from __future__ import annotations

import subprocess
import sys

from alembic.script import ScriptDirectory

from pipeline import migrate


def test_scanned_head_is_alembics_head() -> None:
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert migrate._scanned_heads() == list(scripts.get_heads())
    assert migrate.head_revision() == scripts.get_current_head()


def test_crawl_path_does_not_import_alembic() -> None:
    code = "import sys, pipeline.run; pipeline.migrate.head_revision(); print('alembic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
