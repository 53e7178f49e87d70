"""The registry in the database: append-only, bitemporal versions and the editor role.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:00:00

The registry itself is seeded from the built-in files by ``supplyshock registry sync`` and by
the server at start-up when the table is empty (services/registry_store.py), not here: a data
migration would freeze the files of the release that first migrated.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _token_roles(roles: str, member_rule: str) -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint(op.f("ck_api_tokens_role"), type_="check")
        batch.drop_constraint(op.f("ck_api_tokens_member_role_has_member"), type_="check")
        batch.create_check_constraint(op.f("ck_api_tokens_role"), f"role IN ({roles})")
        batch.create_check_constraint(op.f("ck_api_tokens_member_role_has_member"), member_rule)


def upgrade() -> None:
    _token_roles("'operator', 'member', 'editor'", "role <> 'member' OR member_id IS NOT NULL")
    op.create_table(
        "registry_changes",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("parent", sa.String(length=401), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("editor", sa.String(length=100), nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("draft_seq", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "entity IN ('source', 'act', 'measure', 'carve_out', 'event', 'observation')",
            name=op.f("ck_registry_changes_entity"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'rejected')", name=op.f("ck_registry_changes_status")
        ),
        sa.CheckConstraint(
            "origin IN ('builtin', 'editor')", name=op.f("ck_registry_changes_origin")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_registry_changes")),
        sa.UniqueConstraint("draft_seq", name=op.f("uq_registry_changes_draft_seq")),
    )
    op.create_index("ix_registry_changes_lookup", "registry_changes", ["status", "entity", "key"])
    op.create_index("ix_registry_changes_recorded", "registry_changes", ["recorded_at"])
    _watches()


def _watches() -> None:
    op.create_table(
        "registry_watches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("scenario", sa.String(length=64), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_registry_watches_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_watches")),
    )
    op.create_index(
        op.f("ix_registry_watches_member_id"), "registry_watches", ["member_id"], unique=False
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("watch_id", sa.String(length=32), nullable=False),
        sa.Column("change_seq", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("webhook_state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "webhook_state IN ('none', 'pending', 'delivered', 'failed')",
            name=op.f("ck_notifications_webhook_state"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_notifications_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["watch_id"],
            ["registry_watches.id"],
            name=op.f("fk_notifications_watch_id_registry_watches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        op.f("ix_notifications_member_id"), "notifications", ["member_id"], unique=False
    )
    op.create_index("ix_notifications_due", "notifications", ["webhook_state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("registry_watches")
    op.drop_index("ix_registry_changes_recorded", table_name="registry_changes")
    op.drop_index("ix_registry_changes_lookup", table_name="registry_changes")
    op.drop_table("registry_changes")
    op.execute("DELETE FROM api_tokens WHERE role = 'editor'")
    _token_roles("'operator', 'member'", "role = 'operator' OR member_id IS NOT NULL")
