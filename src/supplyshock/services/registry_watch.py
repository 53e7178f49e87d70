"""Watches and notifications: a published registry change that reaches a watched plant.

A member watches a network (a built-in scenario, as ``/exposure`` accepts). When a second
editor publishes an event, measure or carve-out, every watch is checked: if the changed
measure reaches one of the network's plants on the change's effective date, the member gets
a notification naming the plants and the supply paths it reaches, shown in the UI and, when
the watch has a webhook, POSTed there signed with HMAC-SHA256 and retried with exponential
backoff (:func:`deliver_due`). See docs/registry.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.request
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from supplyshock.domain import controls as c
from supplyshock.exchange.policy import member_of
from supplyshock.exchange.schemas import Principal
from supplyshock.services import scenarios
from supplyshock.services.errors import InvalidRequest
from supplyshock.store.models import Notification, RegistryChange, RegistryWatch, utcnow

SIGNATURE_HEADER = "X-Supplyshock-Signature"
MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(seconds=30)


def _http_url(v: str) -> str:
    if not v.startswith(("https://", "http://")):
        raise ValueError("a webhook URL must start with https:// or http://")
    return v


class WatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    scenario: Annotated[str, Field(min_length=1, max_length=64)] = "auto-2025"
    webhook_url: Annotated[str | None, Field(max_length=500), AfterValidator(
        lambda v: v and _http_url(v)
    )] = None  # fmt: skip


class WatchPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    scenario: str
    webhook_url: str | None
    created_at: datetime


class WatchCreated(WatchPublic):
    secret: str = Field(description="The webhook's HMAC-SHA256 key; shown this once only.")


class NotificationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    watch_id: str
    change_seq: int
    payload: dict[str, Any]
    created_at: datetime
    webhook_state: str
    attempts: int


def create_watch(*, session: Session, actor: Principal, data: WatchCreate) -> WatchCreated:
    member = member_of(actor, to="watch networks")
    try:
        scenarios.network(data.scenario)
    except InvalidRequest as e:
        raise InvalidRequest("scenario", e.detail) from None
    row = RegistryWatch(
        member_id=member,
        scenario=data.scenario,
        webhook_url=data.webhook_url,
        secret=secrets.token_hex(32),
    )
    session.add(row)
    session.flush()
    return WatchCreated(**WatchPublic.model_validate(row).model_dump(), secret=row.secret)


def list_watches(*, session: Session, actor: Principal) -> list[WatchPublic]:
    member = member_of(actor, to="watch networks")
    q = select(RegistryWatch).where(RegistryWatch.member_id == member)
    return [WatchPublic.model_validate(w) for w in session.scalars(q.order_by("created_at"))]


def list_notifications(*, session: Session, actor: Principal) -> list[NotificationPublic]:
    member = member_of(actor, to="receive notifications")
    q = select(Notification).where(Notification.member_id == member)
    return [NotificationPublic.model_validate(n) for n in session.scalars(q.order_by("created_at"))]


def _what_changed(change: RegistryChange, reg: c.Registry) -> tuple[str, str | None, date] | None:
    """(measure id, event id, the day to evaluate on) for a change that can reach plants."""
    if change.entity == "event":
        return (
            change.parent.partition("/")[0],
            change.key,
            date.fromisoformat(change.body["effective"]),
        )
    if change.entity not in ("measure", "carve_out"):
        return None
    mid = change.key if change.entity == "measure" else change.parent
    events = reg.measure(mid).events
    last = max(events, key=lambda e: e.effective)
    return mid, last.id, last.effective


def notify_published(
    *, session: Session, change: RegistryChange, registry: c.Registry, now: datetime
) -> int:
    """Notify every watch whose plants the published ``change`` reaches; notifications made."""
    from supplyshock.services.exposure import exposure_report

    what = _what_changed(change, registry)
    if what is None:
        return 0
    measure_id, event_id, on = what
    made = 0
    for watch in session.scalars(select(RegistryWatch).order_by(RegistryWatch.created_at)):
        report = exposure_report(scenario=watch.scenario, on=on, registry=registry)
        reached: dict[str, list[str]] = {}
        for product in report.products:
            for path in product.paths:
                if measure_id in path.measures:
                    hops = " <- ".join([path.plant, *(h.supplier for h in path.hops)])
                    reached.setdefault(product.plant, []).append(f"{path.product}: {hops}")
        if not reached:
            continue
        payload = {
            "kind": "registry_change",
            "change_seq": change.seq,
            "measure_id": measure_id,
            "event_id": event_id,
            "effective": on.isoformat(),
            "scenario": watch.scenario,
            "plants": reached,
        }
        session.add(
            Notification(
                member_id=watch.member_id,
                watch_id=watch.id,
                change_seq=change.seq,
                payload=payload,
                created_at=now,
                webhook_state="pending" if watch.webhook_url else "none",
                next_attempt_at=now if watch.webhook_url else None,
            )
        )
        made += 1
    session.flush()
    return made


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact body bytes under the watch's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


Post = Callable[[str, bytes, dict[str, str]], None]


def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    with urllib.request.urlopen(req, timeout=5) as res:  # noqa: S310  (http(s) only, checked)
        if not 200 <= res.status < 300:
            raise OSError(f"HTTP {res.status}")


def deliver_due(*, session: Session, now: datetime | None = None, post: Post = _post) -> int:
    """Send every webhook due by ``now``; deliveries that succeeded.

    A failure is retried after 30 s, 1, 2, 4, 8 min (doubling); after 6 attempts it is
    ``failed`` (the notification stays in the UI).
    """
    now = now or utcnow()
    q = (
        select(Notification, RegistryWatch)
        .join(RegistryWatch, RegistryWatch.id == Notification.watch_id)
        .where(Notification.webhook_state == "pending", Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at)
        .limit(100)
        # Several server workers send: each takes the rows no other holds (PostgreSQL).
        .with_for_update(of=Notification, skip_locked=True)
    )
    sent = 0
    for note, watch in session.execute(q).all():
        body = json.dumps({"id": note.id, **note.payload}, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(watch.secret, body),
        }
        note.attempts += 1
        try:
            post(watch.webhook_url or "", body, headers)
        except Exception as e:  # noqa: BLE001  (any failure of the receiver means "retry")
            note.last_error = f"{e.__class__.__name__}: {e}"[:500]
            if note.attempts >= MAX_ATTEMPTS:
                note.webhook_state, note.next_attempt_at = "failed", None
            else:
                note.next_attempt_at = now + FIRST_RETRY * 2 ** (note.attempts - 1)
            continue
        note.webhook_state, note.delivered_at, note.next_attempt_at = "delivered", now, None
        sent += 1
    session.flush()
    return sent
