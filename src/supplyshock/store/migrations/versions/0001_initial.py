"""Initial exchange schema: members, tokens, crises, listings and their part keys, audit log.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 10:51:28.049286
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )
    op.create_table(
        "crises",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("makers", sa.JSON(), nullable=False),
        sa.Column("part_families", sa.JSON(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("allow_prices", sa.Boolean(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_crises_status")),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_crises_ends_after_start")),
        sa.CheckConstraint("retention_days >= 0", name=op.f("ck_crises_retention_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crises")),
        sa.UniqueConstraint("name", name=op.f("uq_crises_name")),
    )
    op.create_table(
        "members",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=500), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("name", name=op.f("uq_members_name")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role = 'operator' OR member_id IS NOT NULL",
            name=op.f("ck_api_tokens_member_role_has_member"),
        ),
        sa.CheckConstraint("role IN ('operator', 'member')", name=op.f("ck_api_tokens_role")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_api_tokens_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_tokens_prefix")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_member_id"), "api_tokens", ["member_id"], unique=False)

    op.create_table(
        "listings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("crisis_id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("part_number", sa.String(length=64), nullable=False),
        sa.Column("maker", sa.String(length=100), nullable=False),
        sa.Column("part_family", sa.String(length=100), nullable=True),
        sa.Column("alternates", sa.JSON(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("quantity_open", sa.Integer(), nullable=False),
        sa.Column("date_code", sa.String(length=4), nullable=True),
        sa.Column("max_lots", sa.Integer(), nullable=True),
        sa.Column("authorised_channel", sa.Boolean(), nullable=False),
        sa.Column("original_packaging", sa.Boolean(), nullable=False),
        sa.Column("traceability", sa.Boolean(), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("days_of_supply", sa.Float(), nullable=True),
        sa.Column("margin_per_unit", sa.Float(), nullable=True),
        sa.Column("price_per_unit", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('offer', 'need')", name=op.f("ck_listings_kind")),
        sa.CheckConstraint(
            "status IN ('open', 'withdrawn', 'expired', 'closed')", name=op.f("ck_listings_status")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_listings_quantity_positive")),
        sa.CheckConstraint(
            "quantity_open >= 0 AND quantity_open <= quantity",
            name=op.f("ck_listings_quantity_open"),
        ),
        sa.CheckConstraint("window_end >= window_start", name=op.f("ck_listings_window_order")),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crises.id"], name=op.f("fk_listings_crisis_id_crises")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_listings_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listings")),
    )
    op.create_index(op.f("ix_listings_member_id"), "listings", ["member_id"], unique=False)
    op.create_index(
        "ix_listings_pool",
        "listings",
        ["crisis_id", "status", "part_number", "maker"],
        unique=False,
    )
    op.create_table(
        "listing_parts",
        sa.Column("listing_id", sa.String(length=32), nullable=False),
        sa.Column("part_key", sa.String(length=170), nullable=False),
        sa.Column("crisis_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_listing_parts_listing_id_listings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("listing_id", "part_key", name=op.f("pk_listing_parts")),
    )
    op.create_index(
        "ix_listing_parts_lookup",
        "listing_parts",
        ["crisis_id", "kind", "part_key"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_listing_parts_lookup", table_name="listing_parts")
    op.drop_table("listing_parts")
    op.drop_index("ix_listings_pool", table_name="listings")
    op.drop_index(op.f("ix_listings_member_id"), table_name="listings")

    op.drop_table("listings")
    op.drop_index(op.f("ix_api_tokens_member_id"), table_name="api_tokens")

    op.drop_table("api_tokens")
    op.drop_table("members")
    op.drop_table("crises")
    op.drop_table("audit_log")
