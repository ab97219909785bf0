"""Counters and totals as bigint: a Content-Range total or a run's repository count above 2^31 must fit.

A total of 10^12 (an API that lies, or a very large repository) broke crawl_repositories.last_total;
crawl_repositories.jobs_seen and the crawl_runs repository counters go with it. The downgrade clamps
values that no longer fit an integer.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

COLUMNS = {
    "crawl_repositories": ("last_total", "jobs_seen"),
    "crawl_runs": ("repos_ok", "repos_failed", "repos_gone", "repos_flagged"),
}
INTEGER_MAX = 2**31 - 1


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        changes = ", ".join(f"ALTER COLUMN {c} TYPE bigint" for c in columns)
        op.execute(f"ALTER TABLE {table} {changes}")


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        changes = ", ".join(
            f"ALTER COLUMN {c} TYPE integer USING least({c}, {INTEGER_MAX})::integer" for c in columns
        )
        op.execute(f"ALTER TABLE {table} {changes}")
