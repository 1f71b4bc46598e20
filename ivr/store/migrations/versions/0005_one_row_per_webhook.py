"""One event row per webhook: the keys that led to an event travel on its row.

A key press wrote a `key` row and then a row for what it led to (the menu or answer heard, the
agent asked for, …), and a new call wrote an `incoming` row beside the start menu's. Every row is
CPU taken from the webhooks (building, buffering and writing it), so now the row of what a key led
to carries the keys (`pressed`; its position is where they were pressed) and the start menu's row is
the incoming call's (its number goes to the call's row, as before). A `key` row remains for a key
that leads to nothing journaled (an invalid key, its re-prompt). Rows written before keep their
meaning: readers count both.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add events.pressed."""
    op.add_column("events", sa.Column("pressed", sa.String(4)))


def downgrade() -> None:
    """Drop events.pressed."""
    with op.batch_alter_table("events") as batch:
        batch.drop_column("pressed")
