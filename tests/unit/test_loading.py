"""Strict loading of network files: every bad-input class is reported with file, line and path."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supplyshock.cli import app
from supplyshock.domain.problems import Problem, ProblemReport
from supplyshock.formats.network import load_network
from supplyshock.formats.registry import load_registry

GOOD = textwrap.dedent(
    """\
    meta: {name: tiny, synthetic: true}
    companies:
      - {id: oem, name: OEM AG, country: DE}
      - {id: mag, name: Magnet Co, country: CN}
    sites:
      - {id: plant, company: oem, country: DE, ttr_days: 10}
      - {id: magfab, company: mag, country: CN}
    parts:
      - {id: car, hs_code: "870380", finished: true}
      - {id: magnet, hs_code: "8505.11", elements: {Dy: 0.05}}
    bom:
      - {parent: car, child: magnet, qty: 2}
    lanes:
      - {id: l1, supplier: magfab, customer: plant, part: magnet, share: 1.0, lead_time_days: 30}
    inventory:
      - {site: plant, part: magnet, on_hand: 400}
    demand:
      - {site: plant, part: car, per_day: 10, margin_per_unit: 3000}
    """
)


def write(tmp_path: Path, text: str, name: str = "net.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(ProblemReport) as exc:
        load_network(path)
    return exc.value.problems


def only(problems: list[Problem], code: str) -> list[Problem]:
    return [p for p in problems if p.code == code]


def test_good_network_loads_with_normalised_codes(tmp_path: Path) -> None:
    net = load_network(write(tmp_path, GOOD))
    assert [p.hs_code for p in net.parts] == ["870380", "850511"]  # "8505.11" normalised
    # Requirement of magnets at the plant: 10 cars/day x 2 magnets = 20/day; the lane has
    # share 1.0, so the CN site must supply 20/day too.
    req = net.index.requirements()
    assert req[("plant", "magnet")] == pytest.approx(20.0)
    assert req[("magfab", "magnet")] == pytest.approx(20.0)


def test_unknown_reference_names_the_field_and_line(tmp_path: Path) -> None:
    text = GOOD.replace("customer: plant, part: magnet", "customer: plant, part: magnett")
    (p,) = problems_of(write(tmp_path, text))
    assert p.message == "unknown part 'magnett'"
    assert p.path == ("lanes", 0, "part")
    assert p.file and p.file.endswith("net.yaml")
    assert p.line == 14  # GOOD: line 13 is "lanes:", line 14 its first entry


def test_bom_cycle_is_an_error(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  - {parent: car, child: magnet, qty: 2}\n",
        "  - {parent: car, child: magnet, qty: 2}\n  - {parent: magnet, child: car, qty: 1}\n",
    )
    (p,) = problems_of(write(tmp_path, text))
    assert p.code == "cycle"
    assert "car -> magnet -> car" in p.message


def test_negative_and_non_numeric_quantities_are_errors(tmp_path: Path) -> None:
    text = GOOD.replace("on_hand: 400", "on_hand: -5").replace("per_day: 10", "per_day: lots")
    probs = problems_of(write(tmp_path, text))
    where = {p.path: p for p in probs}
    assert "greater than or equal to 0" in where[("inventory", 0, "on_hand")].message
    assert "valid number" in where[("demand", 0, "per_day")].message
    assert "'lots'" in where[("demand", 0, "per_day")].message
    assert where[("inventory", 0, "on_hand")].line == 16  # line 15 is "inventory:"
    assert where[("demand", 0, "per_day")].line == 18  # line 17 is "demand:"


def test_shares_over_100_percent_are_an_error(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    inventory:",
        "    inventory:",
    ).replace(
        "lead_time_days: 30}\n",
        "lead_time_days: 30}\n  - {id: l2, supplier: magfab, customer: plant, part: magnet, "
        "share: 0.25}\n",
    )
    (p,) = problems_of(write(tmp_path, text))
    # 1.0 + 0.25 = 125 % of the plant's magnet supply.
    assert p.code == "share"
    assert "125.0 %" in p.message


def test_unknown_country_and_malformed_hs_code(tmp_path: Path) -> None:
    text = GOOD.replace("country: CN}", "country: XX}", 1).replace('"870380"', '"87038"')
    probs = problems_of(write(tmp_path, text))
    msgs = {p.path: p.message for p in probs}
    assert "unknown ISO 3166-1 alpha-2 country code 'XX'" in msgs[("companies", 1, "country")]
    assert "malformed HS code '87038'" in msgs[("parts", 0, "hs_code")]


def test_duplicate_ids_are_errors(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  - {id: magfab, company: mag, country: CN}\n",
        "  - {id: magfab, company: mag, country: CN}\n  - {id: plant, company: mag, country: CN}\n",
    )
    (p,) = problems_of(write(tmp_path, text))
    assert p.code == "duplicate"
    assert p.path == ("sites", 2, "id")
    assert p.line == 8


def test_all_problems_are_reported_in_one_run(tmp_path: Path) -> None:
    text = (
        GOOD.replace("country: CN}", "country: XX}", 1)
        .replace("on_hand: 400", "on_hand: -1")
        .replace("part: magnet, share", "part: nothing, share")
    )
    probs = problems_of(write(tmp_path, text))
    assert len(probs) == 3
    assert {p.path[0] for p in probs} == {"companies", "inventory", "lanes"}


def test_binary_file_is_rejected_cleanly(tmp_path: Path) -> None:
    p = tmp_path / "net.yaml"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (prob,) = problems_of(p)
    assert prob.code == "binary"


def test_non_utf8_file_reports_its_line(tmp_path: Path) -> None:
    p = tmp_path / "net.yaml"
    p.write_bytes(b"meta: {name: x}\ncompanies:\n  - {id: a, name: M\xfcller, country: DE}\n")
    (prob,) = problems_of(p)
    assert prob.code == "encoding"
    assert prob.line == 3


def test_missing_file_and_yaml_syntax_error(tmp_path: Path) -> None:
    (missing,) = problems_of(tmp_path / "nope.yaml")
    assert missing.code == "io"
    (syntax,) = problems_of(write(tmp_path, "meta: {name: x\ncompanies: [\n"))
    assert syntax.code == "syntax"
    assert syntax.line is not None


def test_duplicate_yaml_keys_are_errors(tmp_path: Path) -> None:
    (p,) = problems_of(write(tmp_path, "meta: {name: a}\nmeta: {name: b}\n"))
    assert p.code == "duplicate"
    assert p.line == 2


def test_unknown_section_is_an_error(tmp_path: Path) -> None:
    (p,) = problems_of(write(tmp_path, GOOD + "suppliers: []\n"))
    assert "unknown section 'suppliers'" in p.message


def test_csv_tables_extend_sections_and_report_their_own_lines(tmp_path: Path) -> None:
    text = GOOD.replace("lanes:\n", "tables: {lanes: lanes.csv}\nlanes:\n")
    write(tmp_path, text)
    (tmp_path / "lanes.csv").write_text(
        "id,supplier,customer,part,share,lead_time_days\n"
        "l2,magfab,plant,magnet,,12\n"
        "l3,magfab,plant,magnet,abc,\n"
        "l4,ghost,plant,magnet,,\n"
    )
    probs = problems_of(tmp_path / "net.yaml")
    by_line = {(Path(p.file or "").name, p.line): p for p in probs}
    # CSV line 3 (row l3) has a non-numeric share; line 4 (row l4) an unknown supplier.
    assert "valid number" in by_line[("lanes.csv", 3)].message
    assert by_line[("lanes.csv", 3)].path == ("lanes", 2, "share")
    assert by_line[("lanes.csv", 4)].message == "unknown site 'ghost'"
    assert len(probs) == 2


def test_csv_rows_load_when_valid(tmp_path: Path) -> None:
    text = GOOD.replace("lanes:\n", "tables: {lanes: lanes.csv}\nlanes:\n").replace(
        "share: 1.0", "share: 0.6"
    )
    write(tmp_path, text)
    (tmp_path / "lanes.csv").write_text(
        "id,supplier,customer,part,share\nl2,magfab,plant,magnet,\n"
    )
    net = load_network(tmp_path / "net.yaml")
    l2 = next(ln for ln in net.lanes if ln.id == "l2")
    # l2 has no share: it takes the rest, 1 - 0.6 = 0.4.
    assert net.index.supply_share(l2) == pytest.approx(0.4)


def test_json_network_is_read_with_lines(tmp_path: Path) -> None:
    import yaml

    data = yaml.safe_load(GOOD)
    data["parts"][1]["hs_code"] = "85x511"
    p = tmp_path / "net.json"
    p.write_text(json.dumps(data, indent=1))
    (prob,) = problems_of(p)
    assert prob.path == ("parts", 1, "hs_code")
    assert prob.line is not None and prob.line > 1


def test_registry_reports_unknown_sources_and_acts(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        textwrap.dedent(
            """\
            sources:
              - {id: s1, publisher: P, title: T, published: 2025-04-04}
            acts:
              - {id: a1, authority: MOFCOM, jurisdiction: CN, title: A, announced: 2025-04-04,
                 sources: [s2]}
            measures:
              - id: m1
                act: a9
                title: M
                jurisdiction: CN
                direction: export
                kind: licence
                scope: {elements: [Dy]}
                events:
                  - {id: e1, kind: in_force, effective: 2025-04-04, summary: x, sources: [s1]}
            """
        ),
        "reg.yaml",
    )
    with pytest.raises(ProblemReport) as exc:
        load_registry(p)
    msgs = {(pr.path, pr.line): pr.message for pr in exc.value.problems}
    assert msgs[(("acts", 0, "sources", 0), 5)] == "unknown source 's2'"
    assert msgs[(("measures", 0, "act"), 8)] == "unknown act 'a9'"


def test_cli_validate_exits_non_zero_without_traceback(tmp_path: Path) -> None:
    text = GOOD.replace("country: CN}", "country: XX}", 1).replace("qty: 2", "qty: -2")
    path = write(tmp_path, text)
    res = CliRunner().invoke(app, ["validate", str(path)])
    assert res.exit_code == 1
    out = res.output
    assert "2 problems found" in out
    assert "companies[1].country" in out and "bom[0].qty" in out
    assert "Traceback" not in out
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_cli_validate_accepts_good_file(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["validate", str(write(tmp_path, GOOD))])
    assert res.exit_code == 0, res.output
    assert "2 sites, 2 parts, 1 lanes" in res.output


def test_cli_schema_prints_a_json_schema_of_the_network_format() -> None:
    res = CliRunner().invoke(app, ["schema"])
    assert res.exit_code == 0
    schema = json.loads(res.output)
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"sites", "parts", "lanes", "bom", "tables"} <= set(schema["properties"])
    # The schema must accept the example network (checked with an independent validator).
    import jsonschema
    import yaml

    jsonschema.validate(yaml.safe_load(GOOD), schema)


def test_cli_schema_covers_every_file_format() -> None:
    for kind, must_have in [
        ("registry", {"measures", "sources"}),
        ("assumptions", set()),
    ]:
        res = CliRunner().invoke(app, ["schema", kind])
        assert res.exit_code == 0, res.output
        schema = json.loads(res.output)
        assert must_have <= set(schema.get("properties", {}))
    res = CliRunner().invoke(app, ["schema", "nonsense"])
    assert res.exit_code == 2
    assert "choose one of: network, registry, assumptions" in res.output
