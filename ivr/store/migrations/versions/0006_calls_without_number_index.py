"""The calls' index on number_hash goes: no query reads calls by number.

Repeat callers are counted from the calls of a time range (ix_calls_started_at), the callbacks and
agents have indexes of their own. A keyed hash is random, so each new call's row landed on a random page
of this index: every new call paid for it (on SQLite and PostgreSQL) and nothing ever read it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Drop calls.number_hash's index."""
    op.drop_index("ix_calls_number_hash", table_name="calls")


def downgrade() -> None:
    """Index calls.number_hash again."""
    op.create_index("ix_calls_number_hash", "calls", ["number_hash"])
