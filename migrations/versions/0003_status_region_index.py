"""One (status, remote_region_id) index instead of (status) and (remote_region_id, status).

Every new job paid for six index insertions; the reports' status counts, status filters and per-region
failure rates are all served by the one composite index (status leading), so the two it replaces were
write cost without a query of their own.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX sync_jobs_status_region_idx ON sync_jobs (status, remote_region_id)")
    op.execute("DROP INDEX sync_jobs_status_idx")
    op.execute("DROP INDEX sync_jobs_remote_region_status_idx")


def downgrade() -> None:
    op.execute("CREATE INDEX sync_jobs_remote_region_status_idx ON sync_jobs (remote_region_id, status)")
    op.execute("CREATE INDEX sync_jobs_status_idx ON sync_jobs (status)")
    op.execute("DROP INDEX sync_jobs_status_region_idx")
