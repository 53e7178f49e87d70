"""The exchange's tables as typed SQLAlchemy 2 models; the Alembic migrations must match them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from supplyshock.store.types import UTCDateTime

# Named constraints so that later migrations can drop or alter them by name on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TOKEN_ROLES = ("operator", "member", "editor")
LISTING_KINDS = ("offer", "need")
LISTING_STATUSES = ("open", "withdrawn", "expired", "closed")
CRISIS_STATUSES = ("open", "closed")
# proposed -> interested (the need's holder accepted) -> revealed (the offer's holder accepted
# too) -> fulfilled; or declined / expired, which return the quantity to the pool.
MATCH_STATES = ("proposed", "interested", "revealed", "fulfilled", "declined", "expired")
MATCH_ACTIVE_STATES = ("proposed", "interested", "revealed")


def new_id() -> str:
    """Random identifiers: sequential ones would tell members how busy the exchange is."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class Member(Base):
    """An organisation on the exchange; its name and contact are known to the operator only."""

    __tablename__ = "members"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    contact: Mapped[str] = mapped_column(String(500))
    country: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token. Only its SHA-256 hash is stored; ``prefix`` lets people tell tokens apart."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint(_in("role", TOKEN_ROLES), name="role"),
        # A member token without a member would authenticate as nobody in particular.
        CheckConstraint("role <> 'member' OR member_id IS NOT NULL", name="member_role_has_member"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    member_id: Mapped[str | None] = mapped_column(ForeignKey("members.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Crisis(Base):
    """The operator's declaration that opens the exchange for a scope and a limited time."""

    __tablename__ = "crises"
    __table_args__ = (
        CheckConstraint(_in("status", CRISIS_STATUSES), name="status"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        CheckConstraint("retention_days >= 0", name="retention_not_negative"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    makers: Mapped[list[str]] = mapped_column(JSON, default=list)
    part_families: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    allow_prices: Mapped[bool] = mapped_column(Boolean, default=False)
    retention_days: Mapped[int] = mapped_column(Integer, default=90)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    # When its listings were deleted, retention_days after it closed.
    purged_at: Mapped[datetime | None]


class Listing(Base):
    """An offer (surplus stock) or a need (shortage) for one part within a crisis."""

    __tablename__ = "listings"
    __table_args__ = (
        CheckConstraint(_in("kind", LISTING_KINDS), name="kind"),
        CheckConstraint(_in("status", LISTING_STATUSES), name="status"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        # The open quantity is what is still unpromised: never negative, never above the total.
        CheckConstraint("quantity_open >= 0 AND quantity_open <= quantity", name="quantity_open"),
        CheckConstraint("window_end >= window_start", name="window_order"),
        # Matching looks listings up by part within a crisis, never by scanning the pool.
        Index("ix_listings_pool", "crisis_id", "status", "part_number", "maker"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(8))
    crisis_id: Mapped[str] = mapped_column(ForeignKey("crises.id"))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    part_number: Mapped[str] = mapped_column(String(64))
    maker: Mapped[str] = mapped_column(String(100))
    part_family: Mapped[str | None] = mapped_column(String(100))
    alternates: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    quantity: Mapped[int] = mapped_column(Integer)
    quantity_open: Mapped[int] = mapped_column(Integer)
    date_code: Mapped[str | None] = mapped_column(String(4))
    max_lots: Mapped[int | None] = mapped_column(Integer)
    authorised_channel: Mapped[bool] = mapped_column(Boolean, default=False)
    original_packaging: Mapped[bool] = mapped_column(Boolean, default=False)
    traceability: Mapped[bool] = mapped_column(Boolean, default=False)
    region: Mapped[str] = mapped_column(String(32))
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="open")
    version: Mapped[int] = mapped_column(Integer)
    # Optimistic locking: every UPDATE checks and bumps the version, so stale writes fail.
    __mapper_args__ = {"version_id_col": version}
    days_of_supply: Mapped[float | None] = mapped_column(Float)
    margin_per_unit: Mapped[float | None] = mapped_column(Float)
    price_per_unit: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    currency: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)  # set by the services
    closed_at: Mapped[datetime | None]


class ListingPart(Base):
    """One part key a listing answers to: its own part, or one of its alternates.

    Matching looks counterparts up here by ``(crisis_id, kind, part_key)`` — an index seek —
    instead of scanning the pool and unpacking every listing's alternates.
    """

    __tablename__ = "listing_parts"
    __table_args__ = (Index("ix_listing_parts_lookup", "crisis_id", "kind", "part_key"),)

    listing_id: Mapped[str] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), primary_key=True
    )
    part_key: Mapped[str] = mapped_column(String(170), primary_key=True)
    crisis_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))


class AuditEntry(Base):
    """One state change, chained to the previous entry by ``prev_hash``.

    ``seq`` is assigned by the appender (last + 1), not by the database, so two writers that
    both read the same head collide on the primary key instead of forking the chain. The chain
    covers ``payload_hash``, not the payload itself, so that a crisis's stock data can be erased
    after its retention period (payload set to NULL, recorded by a later purge entry) while the
    chain still verifies.
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(100))
    # none_as_null: an erased payload is SQL NULL, not the JSON value null.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    payload_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Match(Base):
    """A proposed pairing of an offer and a need with a quantity promised from the offer.

    While a match is active its quantity is taken out of both listings' ``quantity_open``, so a
    unit of stock is never promised twice; declining or expiring puts it back. A pair of
    listings is proposed at most once (the unique constraint also stops two concurrent matching
    runs from pairing the same listings twice), so a declined pair is not proposed again.
    """

    __tablename__ = "matches"
    __table_args__ = (
        CheckConstraint(_in("state", MATCH_STATES), name="state"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        UniqueConstraint("offer_id", "need_id"),
        Index("ix_matches_crisis_state", "crisis_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    crisis_id: Mapped[str] = mapped_column(ForeignKey("crises.id"))
    # Purging a crisis deletes its listings; their matches go with them.
    offer_id: Mapped[str] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"))
    need_id: Mapped[str] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="proposed")
    declined_by: Mapped[str | None] = mapped_column(String(8))  # "offer" or "need"
    # Why this quantity: the allocation's explanation, shown to the need's holder only.
    basis: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    expires_at: Mapped[datetime]
    need_accepted_at: Mapped[datetime | None]
    offer_accepted_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer)
    __mapper_args__ = {"version_id_col": version}


class MaterialTwin(Base):
    """A member's Catena-X material twin id mapped to the part it stands for (member-private)."""

    __tablename__ = "material_twins"
    __table_args__ = (UniqueConstraint("member_id", "global_asset_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"))
    global_asset_id: Mapped[str] = mapped_column(String(200))
    part_number: Mapped[str] = mapped_column(String(64))
    maker: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CatalogueEntry(Base):
    """One part of a crisis's catalogue: the only parts listings in that crisis may name.

    Set by the operator from the crisis scope and extended only by the operator, so that members
    cannot pad a part family with invented parts (docs/anonymity.md). ``part_key`` is
    :func:`supplyshock.exchange.rules.part_key`, so look-ups compare parts as matching does.
    """

    __tablename__ = "catalogue_entries"

    crisis_id: Mapped[str] = mapped_column(ForeignKey("crises.id"), primary_key=True)
    part_key: Mapped[str] = mapped_column(String(170), primary_key=True)
    part_number: Mapped[str] = mapped_column(String(64))
    maker: Mapped[str] = mapped_column(String(100))
    part_family: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class BoardEpoch(Base):
    """One publication of a crisis's board: what was published, and (private) from what.

    The board auditor needs everything published so far in the crisis and the contributions
    behind it, because amendments overwrite listings. ``contributions`` holds per-member
    quantities: it is never shown, and it is deleted with the crisis's listings at retention.
    """

    __tablename__ = "board_epochs"
    __table_args__ = (UniqueConstraint("crisis_id", "seq"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    crisis_id: Mapped[str] = mapped_column(ForeignKey("crises.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    fingerprint: Mapped[str] = mapped_column(String(64))
    contributions: Mapped[dict[str, Any]] = mapped_column(JSON)
    published: Mapped[dict[str, Any]] = mapped_column(JSON)


class RateLimit(Base):
    """One API token's rate-limit state, shared by every server worker (http/limits.py).

    ``tat`` is the generic cell rate algorithm's theoretical arrival time, in seconds since the
    epoch: one number per token instead of a bucket's level and timestamp.
    """

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tat: Mapped[float] = mapped_column(Float)


JOB_KINDS = ("survival", "montecarlo")
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")


class JobRecord(Base):
    """A long computation (survival sweep, Monte Carlo run): who asked, what, how far, result.

    Workers claim queued rows atomically (docs/jobs.md); ``heartbeat_at`` tells a live worker
    from a dead one, so a job whose worker died is failed by the next worker that starts.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_in("kind", JOB_KINDS), name="kind"),
        CheckConstraint(_in("state", JOB_STATES), name="state"),
        CheckConstraint("done >= 0 AND total >= 1", name="progress"),
        Index("ix_jobs_queue", "state", "created_at"),
        Index("ix_jobs_owner", "owner"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(12), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=1)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker: Mapped[str | None] = mapped_column(String(100))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


REGISTRY_ENTITIES = ("source", "act", "measure", "carve_out", "event", "observation")
REGISTRY_STATUSES = ("draft", "published", "rejected")
REGISTRY_ORIGINS = ("builtin", "editor")


class RegistryChange(Base):
    """One version of one registry entity (docs/registry.md, "The registry in the database").

    Append-only: a draft is a row; its approval or rejection is a new row naming the draft
    (``draft_seq``, unique, so a draft is decided once even under concurrency). ``recorded_at``
    is the system time: an ``as_of`` query never sees an editor's change recorded after it.
    """

    __tablename__ = "registry_changes"
    __table_args__ = (
        CheckConstraint(_in("entity", REGISTRY_ENTITIES), name="entity"),
        CheckConstraint(_in("status", REGISTRY_STATUSES), name="status"),
        CheckConstraint(_in("origin", REGISTRY_ORIGINS), name="origin"),
        Index("ix_registry_changes_lookup", "status", "entity", "key"),
        Index("ix_registry_changes_recorded", "recorded_at"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    # For a carve-out: its measure's id; for an event: "measure" or "measure/carve-out".
    parent: Mapped[str] = mapped_column(String(401), default="")
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))
    origin: Mapped[str] = mapped_column(String(8))
    editor: Mapped[str] = mapped_column(String(100))
    approved_by: Mapped[str | None] = mapped_column(String(100))
    draft_seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


WEBHOOK_STATES = ("none", "pending", "delivered", "failed")


class RegistryWatch(Base):
    """A member's watch on a network: newly published registry changes that reach one of its
    plants become notifications (and webhook calls, signed with ``secret``)."""

    __tablename__ = "registry_watches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    scenario: Mapped[str] = mapped_column(String(64))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    # The HMAC key must be readable to sign with: it is shown to the member once, never listed.
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """One message to one member, shown in the UI and, if its watch has one, sent by webhook."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(_in("webhook_state", WEBHOOK_STATES), name="webhook_state"),
        Index("ix_notifications_due", "webhook_state", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    watch_id: Mapped[str] = mapped_column(ForeignKey("registry_watches.id"))
    change_seq: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    webhook_state: Mapped[str] = mapped_column(String(10), default="none")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
