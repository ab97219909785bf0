"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from __future__ import annotations

from alembic import op

revision: str = ${repr(up_revision)}
down_revision: str | None = ${repr(down_revision)}
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision (hand-written SQL; never import application code here)."""
    ${upgrades if upgrades else 'op.execute("")'}


def downgrade() -> None:
    """Undo exactly what upgrade() did."""
    ${downgrades if downgrades else 'op.execute("")'}
