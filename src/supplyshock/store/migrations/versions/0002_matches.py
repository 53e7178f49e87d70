"""Matches between offers and needs, and members' Catena-X material twins.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "matches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("crisis_id", sa.String(length=32), nullable=False),
        sa.Column("offer_id", sa.String(length=32), nullable=False),
        sa.Column("need_id", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("declined_by", sa.String(length=8), nullable=True),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("need_accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offer_accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('proposed', 'interested', 'revealed', 'fulfilled', 'declined', 'expired')",
            name=op.f("ck_matches_state"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_matches_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crises.id"], name=op.f("fk_matches_crisis_id_crises")
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["listings.id"],
            name=op.f("fk_matches_offer_id_listings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["need_id"],
            ["listings.id"],
            name=op.f("fk_matches_need_id_listings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matches")),
        sa.UniqueConstraint("offer_id", "need_id", name=op.f("uq_matches_offer_id")),
    )
    op.create_index(op.f("ix_matches_need_id"), "matches", ["need_id"], unique=False)
    op.create_index("ix_matches_crisis_state", "matches", ["crisis_id", "state"], unique=False)
    op.create_table(
        "material_twins",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("global_asset_id", sa.String(length=200), nullable=False),
        sa.Column("part_number", sa.String(length=64), nullable=False),
        sa.Column("maker", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_material_twins_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_twins")),
        sa.UniqueConstraint(
            "member_id", "global_asset_id", name=op.f("uq_material_twins_member_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("material_twins")
    op.drop_index("ix_matches_crisis_state", table_name="matches")
    op.drop_index(op.f("ix_matches_need_id"), table_name="matches")
    op.drop_table("matches")
