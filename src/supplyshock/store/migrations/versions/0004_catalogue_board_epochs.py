"""Crisis part catalogues and the board's publication history (for the board auditor).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalogue_entries",
        sa.Column("crisis_id", sa.String(length=32), nullable=False),
        sa.Column("part_key", sa.String(length=170), nullable=False),
        sa.Column("part_number", sa.String(length=64), nullable=False),
        sa.Column("maker", sa.String(length=100), nullable=False),
        sa.Column("part_family", sa.String(length=100), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crises.id"],
            name=op.f("fk_catalogue_entries_crisis_id_crises"),
        ),
        sa.PrimaryKeyConstraint("crisis_id", "part_key", name=op.f("pk_catalogue_entries")),
    )
    op.create_table(
        "board_epochs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("crisis_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("contributions", sa.JSON(), nullable=False),
        sa.Column("published", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crises.id"], name=op.f("fk_board_epochs_crisis_id_crises")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_epochs")),
        sa.UniqueConstraint("crisis_id", "seq", name=op.f("uq_board_epochs_crisis_id")),
    )


def downgrade() -> None:
    op.drop_table("board_epochs")
    op.drop_table("catalogue_entries")
