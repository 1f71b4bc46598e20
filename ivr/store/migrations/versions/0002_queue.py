"""The queue and callbacks: the events' amount, callback reservations, agents, the reveal audit.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OPEN = sa.text("status IN ('pending', 'calling')")


def upgrade() -> None:
    """Add events.amount and the callbacks, agents and audit tables."""
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("amount", sa.Integer(), nullable=True))
    op.create_table(
        "callbacks",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("number_hash", sa.String(64), nullable=False),
        sa.Column("number_sealed", sa.Text(), nullable=True),
        sa.Column("number_masked", sa.String(32), nullable=False),
        sa.Column("call_sid", sa.String(64), nullable=False),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        sa.Column("reserved_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("agent", sa.String(40), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_callbacks"),
    )
    op.create_index("ix_callbacks_number_hash", "callbacks", ["number_hash"])
    op.create_index("ix_callbacks_asked_at", "callbacks", ["asked_at"])
    op.create_index(
        "uq_callbacks_open_number",
        "callbacks",
        ["number_hash"],
        unique=True,
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )
    op.create_table(
        "agents",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("number_hash", sa.String(64), nullable=False),
        sa.Column("number_masked", sa.String(32), nullable=False),
        sa.Column("pin_hash", sa.String(200), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_agents"),
        sa.UniqueConstraint("number_hash", name="uq_agents_number_hash"),
    )
    op.create_table(
        "audit",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("who", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
    )
    op.create_index("ix_audit_at", "audit", ["at"])


def downgrade() -> None:
    """Drop what the upgrade added."""
    op.drop_table("audit")
    op.drop_table("agents")
    op.drop_table("callbacks")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("amount")
