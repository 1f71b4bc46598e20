"""Events are found by time only: the index on events.call_sid goes.

Every event paid for that index: a CallSid is random, so each insert landed on a random page of a
growing index (on SQLite the journal's CPU per event doubled between an empty database and 200 000
events; bench/costs). Every query that reads events now bounds them by time first (ix_events_at):
the calls that started in a range have their events in that range, up to a day later.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Drop the events' index on call_sid."""
    op.drop_index("ix_events_call_sid", table_name="events")


def downgrade() -> None:
    """Index the events by call_sid again."""
    op.create_index("ix_events_call_sid", "events", ["call_sid"])
