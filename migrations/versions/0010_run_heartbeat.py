"""crawl_runs.heartbeat_at: when a running run last wrote its counters.

A run writes its counters every few seconds; a 'running' row whose heartbeat has stopped belongs to a
process that died (OOM, SIGKILL, a lost node) and is closed as abandoned by the next run, keeping the
counters of its last heartbeat. Rows from before this revision keep NULL (they never had a heartbeat); new
rows start with the time they were opened.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add heartbeat_at; its default applies to new rows only (existing rows stay NULL)."""
    op.execute("ALTER TABLE crawl_runs ADD COLUMN heartbeat_at timestamptz")
    op.execute("ALTER TABLE crawl_runs ALTER COLUMN heartbeat_at SET DEFAULT now()")
    op.execute(
        "COMMENT ON COLUMN crawl_runs.heartbeat_at IS"
        " 'When the run last wrote its counters; a stale one while running means the process died'"
    )


def downgrade() -> None:
    """Drop heartbeat_at."""
    op.execute("ALTER TABLE crawl_runs DROP COLUMN heartbeat_at")
