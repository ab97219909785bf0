"""API Gateway's rate as learned per source, and what each run met of it.

`crawl_rates` keeps, per source (its lock key: region and endpoint) and API, the requests/second a crawl
settled at after the gateway throttled it, so the next run starts there instead of finding it again through
429s. `crawl_runs` gains the 429s received, the rate reached and the rate learned.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create crawl_rates and add the run's throttling columns."""
    op.execute(
        """
        CREATE TABLE crawl_rates (
            source  text NOT NULL,
            api     text NOT NULL,
            rate    double precision NOT NULL CHECK (rate > 0),
            run_id  bigint REFERENCES crawl_runs (id) ON DELETE SET NULL,
            PRIMARY KEY (source, api)
        )
        """
    )
    op.execute(
        "COMMENT ON TABLE crawl_rates IS 'Requests/second API Gateway granted per source (lock key)"
        " and API, as the last run paced at it: the next run starts there'"
    )
    op.execute(
        """
        ALTER TABLE crawl_runs
            ADD COLUMN throttled integer NOT NULL DEFAULT 0,
            ADD COLUMN rate_reached double precision,
            ADD COLUMN rate_learned double precision
        """
    )


def downgrade() -> None:
    """Drop what upgrade() added."""
    op.execute(
        "ALTER TABLE crawl_runs DROP COLUMN throttled, DROP COLUMN rate_reached, DROP COLUMN rate_learned"
    )
    op.execute("DROP TABLE crawl_rates")
