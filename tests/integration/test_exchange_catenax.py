"""Catena-X import: the official example payloads as they are, and malformed variants.

The examples and schemas live in ``shared/catena-x/`` beside the repository (see its README);
without them these tests are skipped with a warning, since they are the point of the tests.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supplyshock.api.deps import db_session
from supplyshock.exchange.catenax import (
    ImportOptions,
    PayloadInvalid,
    TwinsCreate,
    attach_days_of_supply,
    list_twins,
    need_from_short_term_demand,
    offer_from_item_stock,
    register_twins,
)
from supplyshock.exchange.errors import Forbidden, RuleViolation
from supplyshock.exchange.members import issue_token
from supplyshock.exchange.schemas import CrisisPublic, ListingPublic, Principal, TokenIssue
from supplyshock.formats.catenax import schema, validate
from supplyshock.server import create_app
from supplyshock.settings import Settings
from supplyshock.store.models import AuditEntry, Listing, MaterialTwin
from tests.required import missing

NOW = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)  # the conftest's "now"
REPO = Path(__file__).resolve().parents[2]
SHARED = (REPO / ".." / "shared" / "catena-x").resolve()
TWIN = "urn:uuid:48878d48-6f1d-47f5-8ded-a441d0d879df"  # the examples' materialGlobalAssetId
FILES = {
    "item_stock": "ItemStock",
    "short_term_material_demand": "ShortTermMaterialDemand",
    "days_of_supply": "DaysOfSupply",
}

MakeMember = Callable[..., Principal]
MakeCrisis = Callable[..., CrisisPublic]
MakeListing = Callable[..., ListingPublic]


def _official(name: str) -> dict[str, Any]:
    path = SHARED / f"{name}.json"
    if not path.exists():
        reason = (
            f"official Catena-X examples missing at {SHARED}: the Catena-X tests DID NOT RUN "
            "(expected shared/catena-x/ beside the repository)"
        )
        missing(reason)
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def item_stock() -> dict[str, Any]:
    return _official("ItemStock")


@pytest.fixture
def demand() -> dict[str, Any]:
    return _official("ShortTermMaterialDemand")


@pytest.fixture
def days_of_supply() -> dict[str, Any]:
    return _official("DaysOfSupply")


@pytest.fixture
def member(session: Session, make_member: MakeMember) -> Principal:
    """A member with the examples' twin mapped to a Nexperia part."""
    who = make_member()
    register_twins(
        session=session,
        actor=who,
        data=TwinsCreate.model_validate(
            {"twins": [{"global_asset_id": TWIN, "part_number": "BC847B,215", "maker": "Nexperia"}]}
        ),
        now=NOW,
    )
    return who


@pytest.fixture
def options(make_crisis: MakeCrisis) -> ImportOptions:
    return ImportOptions(crisis_id=make_crisis().id, region="europe", part_family="discretes")


def _listings(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Listing)) or 0


def _stored_text(session: Session) -> str:
    """Everything the import could have left behind: listings, twins and audit payloads."""
    rows: list[object] = []
    for model in (Listing, MaterialTwin):
        for obj in session.scalars(select(model)):
            rows.append({c: getattr(obj, c) for c in obj.__table__.columns.keys()})
    rows += [e.payload for e in session.scalars(select(AuditEntry))]
    return json.dumps(rows, default=str)


# --- schemas --------------------------------------------------------------------------------


@pytest.mark.parametrize("aspect", sorted(FILES))
def test_shipped_schema_is_the_official_one_unchanged(aspect: str) -> None:
    official = _official(f"{FILES[aspect]}-schema")
    assert schema(aspect) == official


@pytest.mark.parametrize("aspect", sorted(FILES))
def test_official_example_is_valid(aspect: str) -> None:
    assert validate(aspect, _official(FILES[aspect])) == []


# --- item stock -> offer --------------------------------------------------------------------


def test_item_stock_example_becomes_an_offer_of_its_unblocked_stock(
    session: Session, member: Principal, options: ImportOptions, item_stock: dict[str, Any]
) -> None:
    offer = offer_from_item_stock(
        session=session, actor=member, payload=item_stock, options=options, now=NOW
    )
    # The example holds one unblocked stock of 20.0 unit:piece.
    assert (offer.kind, offer.quantity, offer.part_number, offer.maker) == (
        "offer",
        20,
        "BC847B,215",
        "Nexperia",
    )
    # Window: today until the crisis ends (2026-03-31).
    assert (offer.window_start, offer.window_end) == (date(2025, 11, 3), date(2026, 3, 31))


def test_blocked_stock_is_not_offered_and_locations_add_up(
    session: Session, member: Principal, options: ImportOptions, item_stock: dict[str, Any]
) -> None:
    payload = copy.deepcopy(item_stock)
    stocks = payload["positions"][0]["allocatedStocks"]
    blocked = copy.deepcopy(stocks[0]) | {"isBlocked": True}
    blocked["quantityOnAllocatedStock"] = {"value": 500.0, "unit": "unit:piece"}
    other_site = copy.deepcopy(stocks[0]) | {"stockLocationBPNS": "BPNS0000000001AA"}
    other_site["quantityOnAllocatedStock"] = {"value": 30, "unit": "unit:piece"}
    stocks += [blocked, other_site]
    offer = offer_from_item_stock(
        session=session, actor=member, payload=payload, options=options, now=NOW
    )
    # 20 + 30 unblocked; the 500 blocked (quarantine) are not available.
    assert offer.quantity == 50


def test_offer_can_be_capped_below_the_stock(
    session: Session, member: Principal, options: ImportOptions, item_stock: dict[str, Any]
) -> None:
    capped = options.model_copy(update={"quantity": 5})
    offer = offer_from_item_stock(
        session=session, actor=member, payload=item_stock, options=capped, now=NOW
    )
    assert offer.quantity == 5


def test_business_partner_numbers_are_never_stored(
    session: Session,
    member: Principal,
    options: ImportOptions,
    item_stock: dict[str, Any],
    demand: dict[str, Any],
    days_of_supply: dict[str, Any],
) -> None:
    offer_from_item_stock(
        session=session, actor=member, payload=item_stock, options=options, now=NOW
    )
    need = need_from_short_term_demand(
        session=session, actor=member, payload=demand, options=options, now=NOW
    )
    attach_days_of_supply(
        session=session, actor=member, payload=days_of_supply, listing_id=need.id, now=NOW
    )
    stored = _stored_text(session)
    # The examples' BPNS/BPNA and order ids appear nowhere in what was stored.
    for secret in ("BPNS", "BPNA", "C-Nbr-4711", "M-Nbr-4711", "PositionId-01"):
        assert secret not in stored


# --- short-term material demand -> need, days of supply -------------------------------------


def test_demand_example_becomes_a_need_over_its_days(
    session: Session, member: Principal, options: ImportOptions, demand: dict[str, Any]
) -> None:
    need = need_from_short_term_demand(
        session=session, actor=member, payload=demand, options=options, now=NOW
    )
    # One demand of 20 pieces on 2023-10-09: the window is that day.
    assert (need.kind, need.quantity) == ("need", 20)
    assert (need.window_start, need.window_end) == (date(2023, 10, 9), date(2023, 10, 9))


def test_demand_is_summed_over_the_window_across_series(
    session: Session, member: Principal, options: ImportOptions, demand: dict[str, Any]
) -> None:
    payload = copy.deepcopy(demand)
    series = payload["demandSeries"][0]
    series["demands"] = [
        {"day": f"2025-11-{d:02d}", "demand": {"value": v, "unit": "unit:piece"}}
        for d, v in ((10, 100), (11, 200), (12, 400), (20, 800))
    ]
    other = copy.deepcopy(series) | {"demandCategory": {"demandCategoryCode": "A1S1"}}
    other["demands"] = [{"day": "2025-11-11", "demand": {"value": 50, "unit": "unit:piece"}}]
    payload["demandSeries"].append(other)
    window = options.model_copy(
        update={"window_start": date(2025, 11, 11), "window_end": date(2025, 11, 12)}
    )
    need = need_from_short_term_demand(
        session=session, actor=member, payload=payload, options=window, now=NOW
    )
    # 11th: 200 + 50 (after-sales series); 12th: 400. The 10th and 20th are outside.
    assert need.quantity == 650


def test_days_of_supply_example_is_attached_to_the_need(
    session: Session,
    member: Principal,
    options: ImportOptions,
    demand: dict[str, Any],
    days_of_supply: dict[str, Any],
) -> None:
    need = need_from_short_term_demand(
        session=session, actor=member, payload=demand, options=options, now=NOW
    )
    updated = attach_days_of_supply(
        session=session,
        actor=member,
        payload=days_of_supply,
        crisis_id=options.crisis_id,
        now=NOW,
    )
    # The example's one value, dated 2024-01-01 (the latest not after now): 3.51 days.
    assert (updated.id, updated.days_of_supply, updated.version) == (need.id, 3.51, 2)


def test_days_of_supply_takes_the_current_value_of_the_worst_location(
    session: Session,
    member: Principal,
    options: ImportOptions,
    demand: dict[str, Any],
    days_of_supply: dict[str, Any],
) -> None:
    need = need_from_short_term_demand(
        session=session, actor=member, payload=demand, options=options, now=NOW
    )
    payload = copy.deepcopy(days_of_supply)
    site = payload["allocatedDaysOfSupply"][0]
    site["amountOfAllocatedDaysOfSupply"] = [
        {"date": "2025-11-01T00:00:00Z", "daysOfSupply": 9.0},
        {"date": "2025-11-03T00:00:00Z", "daysOfSupply": 7.5},  # current at 09:00 on the 3rd
        {"date": "2025-11-05T00:00:00Z", "daysOfSupply": 5.5},  # a projection
    ]
    second = copy.deepcopy(site) | {"stockLocationBPNS": "BPNS0000000002BB"}
    second["amountOfAllocatedDaysOfSupply"] = [
        {"date": "2025-11-02T12:00:00+01:00", "daysOfSupply": 4.25}
    ]
    payload["allocatedDaysOfSupply"].append(second)
    updated = attach_days_of_supply(
        session=session, actor=member, payload=payload, listing_id=need.id, now=NOW
    )
    # Site 1 now: 7.5; site 2 now: 4.25. The first to run dry sets the need: 4.25.
    assert updated.days_of_supply == 4.25


def test_days_of_supply_for_another_part_is_refused(
    session: Session,
    member: Principal,
    options: ImportOptions,
    make_listing: MakeListing,
    days_of_supply: dict[str, Any],
) -> None:
    other = make_listing(member, options.crisis_id, kind="need", part_number="PMEG3020")
    with pytest.raises(RuleViolation) as err:
        attach_days_of_supply(
            session=session, actor=member, payload=days_of_supply, listing_id=other.id, now=NOW
        )
    assert err.value.code == "twin_mismatch"


# --- malformed payloads ---------------------------------------------------------------------


def _problems(err: pytest.ExceptionInfo[PayloadInvalid]) -> dict[str, str]:
    return {p.path: p.message for p in err.value.problems}


def test_missing_required_field_is_named_by_its_path(
    session: Session, member: Principal, options: ImportOptions, item_stock: dict[str, Any]
) -> None:
    payload = copy.deepcopy(item_stock)
    del payload["direction"]
    del payload["positions"][0]["allocatedStocks"][0]["isBlocked"]
    before = _listings(session)
    with pytest.raises(PayloadInvalid) as err:
        offer_from_item_stock(
            session=session, actor=member, payload=payload, options=options, now=NOW
        )
    # Both problems at once, each with its path.
    assert _problems(err) == {
        "direction": "required property is missing",
        "positions[0].allocatedStocks[0].isBlocked": "required property is missing",
    }
    assert err.value.code == "invalid_payload"
    assert _listings(session) == before


def test_wrong_type_is_named_by_its_path(
    session: Session, member: Principal, options: ImportOptions, item_stock: dict[str, Any]
) -> None:
    payload = copy.deepcopy(item_stock)
    payload["positions"][0]["allocatedStocks"][0]["quantityOnAllocatedStock"]["value"] = "twenty"
    with pytest.raises(PayloadInvalid) as err:
        offer_from_item_stock(
            session=session, actor=member, payload=payload, options=options, now=NOW
        )
    problems = _problems(err)
    assert list(problems) == ["positions[0].allocatedStocks[0].quantityOnAllocatedStock.value"]
    assert "is not of type 'number'" in next(iter(problems.values()))
    assert "positions[0].allocatedStocks[0].quantityOnAllocatedStock.value" in str(err.value)


def test_unknown_twin_is_a_clear_error(
    session: Session, make_member: MakeMember, options: ImportOptions, item_stock: dict[str, Any]
) -> None:
    stranger = make_member()  # has mapped no twin
    with pytest.raises(PayloadInvalid) as err:
        offer_from_item_stock(
            session=session, actor=stranger, payload=item_stock, options=options, now=NOW
        )
    message = _problems(err)["materialGlobalAssetId"]
    assert "no material twin" in message and "/catenax/twins" in message


def test_unknown_twin_and_mapping_problems_are_reported_together(
    session: Session, make_member: MakeMember, options: ImportOptions, item_stock: dict[str, Any]
) -> None:
    payload = copy.deepcopy(item_stock)
    payload["positions"][0]["allocatedStocks"][0]["quantityOnAllocatedStock"]["unit"] = "unit:gram"
    with pytest.raises(PayloadInvalid) as err:
        offer_from_item_stock(
            session=session, actor=make_member(), payload=payload, options=options, now=NOW
        )
    assert set(_problems(err)) == {
        "materialGlobalAssetId",
        "positions[0].allocatedStocks[0].quantityOnAllocatedStock.unit",
    }


def test_malformed_demand_day_and_twin_id_are_refused(
    session: Session, member: Principal, options: ImportOptions, demand: dict[str, Any]
) -> None:
    payload = copy.deepcopy(demand)
    payload["materialGlobalAssetId"] = "not-a-uuid"
    payload["demandSeries"][0]["demands"][0]["day"] = "2023-13-45"
    with pytest.raises(PayloadInvalid) as err:
        need_from_short_term_demand(
            session=session, actor=member, payload=payload, options=options, now=NOW
        )
    assert set(_problems(err)) == {"materialGlobalAssetId", "demandSeries[0].demands[0].day"}


def test_payload_that_is_not_an_object_is_refused(
    session: Session, member: Principal, options: ImportOptions
) -> None:
    with pytest.raises(PayloadInvalid) as err:
        offer_from_item_stock(session=session, actor=member, payload=[1], options=options, now=NOW)
    assert list(_problems(err)) == ["$"]


# --- twins ----------------------------------------------------------------------------------


def test_twins_are_private_to_their_member(
    session: Session,
    member: Principal,
    make_member: MakeMember,
    options: ImportOptions,
    item_stock: dict[str, Any],
) -> None:
    other = make_member()
    assert list_twins(session=session, actor=other) == []
    with pytest.raises(PayloadInvalid):
        offer_from_item_stock(
            session=session, actor=other, payload=item_stock, options=options, now=NOW
        )


def test_registering_a_twin_again_replaces_its_part(session: Session, member: Principal) -> None:
    register_twins(
        session=session,
        actor=member,
        # The same id without the urn prefix and in upper case is the same twin.
        data=TwinsCreate.model_validate(
            {
                "twins": [
                    {
                        "global_asset_id": TWIN.removeprefix("urn:uuid:").upper(),
                        "part_number": "BC847BW",
                        "maker": "Nexperia",
                    }
                ]
            }
        ),
        now=NOW,
    )
    (twin,) = list_twins(session=session, actor=member)
    assert (twin.global_asset_id, twin.part_number) == (TWIN.removeprefix("urn:uuid:"), "BC847BW")


def test_operator_cannot_import(
    session: Session, operator: Principal, options: ImportOptions, item_stock: dict[str, Any]
) -> None:
    with pytest.raises(Forbidden):
        offer_from_item_stock(
            session=session, actor=operator, payload=item_stock, options=options, now=NOW
        )


# --- through the HTTP API (on the test's session, so it rolls back like the rest) ------------


@pytest.fixture
def api(session: Session, db_url: str) -> TestClient:
    app = create_app(Settings(database_url=db_url, rate_limit_per_minute=100_000), migrate=False)
    app.dependency_overrides[db_session] = lambda: session
    return TestClient(app)


def _bearer(session: Session, operator: Principal, member: Principal) -> dict[str, str]:
    issued = issue_token(
        session=session, actor=operator, data=TokenIssue(member_id=member.member_id)
    )
    return {"Authorization": f"Bearer {issued.token}"}


def test_api_imports_the_item_stock_example_as_an_offer(
    session: Session,
    api: TestClient,
    operator: Principal,
    make_member: MakeMember,
    make_crisis: MakeCrisis,
    item_stock: dict[str, Any],
) -> None:
    # The API runs at the real "now": this crisis runs today.
    today = datetime.now(UTC).date()
    crisis = make_crisis(starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=90))
    auth = _bearer(session, operator, make_member())
    twin = {"global_asset_id": TWIN, "part_number": "BC847B,215", "maker": "Nexperia"}
    res = api.post("/api/v1/catenax/twins", json={"twins": [twin]}, headers=auth)
    assert res.status_code == 200, res.text
    params = {"crisis_id": crisis.id, "region": "europe", "part_family": "discretes"}
    res = api.post("/api/v1/catenax/item-stock", params=params, json=item_stock, headers=auth)
    assert res.status_code == 201, res.text
    assert (res.json()["kind"], res.json()["quantity"]) == ("offer", 20)
    assert "BPN" not in res.text


def test_api_reports_every_payload_problem_with_its_path(
    session: Session,
    api: TestClient,
    operator: Principal,
    member: Principal,
    options: ImportOptions,
    item_stock: dict[str, Any],
) -> None:
    payload = copy.deepcopy(item_stock)
    del payload["direction"]
    payload["positions"][0]["allocatedStocks"][0]["quantityOnAllocatedStock"]["value"] = "x"
    res = api.post(
        "/api/v1/catenax/item-stock",
        params={"crisis_id": options.crisis_id, "region": "europe"},
        json=payload,
        headers=_bearer(session, operator, member),
    )
    assert res.status_code == 422
    error = res.json()["error"]
    assert error["code"] == "invalid_payload"
    assert [d["field"] for d in error["details"]] == [
        "direction",
        "positions[0].allocatedStocks[0].quantityOnAllocatedStock.value",
    ]


def test_api_refuses_an_unknown_region_and_an_anonymous_caller(
    session: Session,
    api: TestClient,
    operator: Principal,
    member: Principal,
    options: ImportOptions,
    demand: dict[str, Any],
) -> None:
    url = "/api/v1/catenax/short-term-material-demand"
    params = {"crisis_id": options.crisis_id, "region": "mars"}
    res = api.post(url, params=params, json=demand, headers=_bearer(session, operator, member))
    assert res.status_code == 422 and "region" in res.text
    assert api.post(url, params=params, json=demand).status_code == 401
