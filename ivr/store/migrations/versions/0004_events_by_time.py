"""Events are found by time: the index on events.call_sid goes, the queue's events get their own.

Every event paid for the call_sid index: a CallSid is random, so each insert landed on a random page
of a growing index, and the journal's cost per event grew with the table. Every query that reads
events now bounds them by time first (ix_events_at): the calls that started in a range have their
events in that range, up to a day later. The queue's estimate and waiting callers, read by every worker
every 20 s, scanned every event of the last hours for a few queue events: a partial index holds only
the queue's entries and exits, which only those events pay for.

On a large PostgreSQL journal, building that index holds off the journal writers while it runs: they
keep their events and write them afterwards (calls are answered meanwhile).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

QUEUE = sa.text("kind IN ('queue-entered', 'queue-left')")  # as ivr.store.tables.QUEUE_EVENT

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Drop the events' index on call_sid; index the queue's events by time."""
    op.drop_index("ix_events_call_sid", table_name="events")
    op.create_index("ix_events_queue", "events", ["at"], sqlite_where=QUEUE, postgresql_where=QUEUE)


def downgrade() -> None:
    """Index the events by call_sid again, drop the queue's index."""
    op.drop_index("ix_events_queue", table_name="events")
    op.create_index("ix_events_call_sid", "events", ["call_sid"])
