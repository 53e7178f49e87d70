"""Hostile network files: each is refused with a located problem, in bounded time and memory.

No timing assertions: the bomb and the deep nesting are refused by *what* the parser met (the
first anchor, the 65th level), which is only possible before any expansion or recursion.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supplyshock.cli import app
from supplyshock.domain.problems import Problem, ProblemReport
from supplyshock.formats.limits import LoadLimits
from supplyshock.formats.network import load_network, load_network_bytes

BASE = textwrap.dedent(
    """\
    meta: {name: hostile}
    companies: [{id: c, name: C, country: DE}]
    sites: [{id: s, company: c, country: DE}, {id: t, company: c, country: CN}]
    parts: [{id: car, hs_code: "870380", finished: true}, {id: m, hs_code: "850511"}]
    """
)
SECRET = "top-secret-first-line"


def problems_of(path: Path, limits: LoadLimits | None = None) -> list[Problem]:
    with pytest.raises(ProblemReport) as exc:
        load_network(path, limits or LoadLimits())
    return exc.value.problems


def write(tmp_path: Path, text: str, name: str = "net.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_alias_bomb_is_refused_at_the_first_anchor(tmp_path: Path) -> None:
    # Nine levels of nine aliases: 9**9 = 387 million strings once expanded.
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    (p,) = problems_of(write(tmp_path, "\n".join(lines) + "\n"))
    assert p.code == "alias"
    assert "anchor &a0" in p.message
    assert (p.line, p.path) == (1, ("a0",))


def test_a_lone_alias_is_refused_too(tmp_path: Path) -> None:
    (p,) = problems_of(write(tmp_path, BASE + "demand: [*x]\n"))
    assert p.code in {"alias", "syntax"}  # an undefined alias is itself a YAML error


def test_tags_that_would_build_objects_are_refused(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = BASE + f'x: !!python/object/apply:os.system ["touch {marker}"]\n'
    probs = problems_of(write(tmp_path, text))
    assert any("unsupported tag" in p.message for p in probs)
    assert not marker.exists()


def test_dev_zero_as_a_table_is_refused_naming_the_field(tmp_path: Path) -> None:
    (p,) = problems_of(write(tmp_path, BASE + "tables: {bom: /dev/zero}\n"))
    assert p.path == ("tables", "bom") and p.code == "path"
    assert "absolute" in p.message


def test_device_and_fifo_beside_the_file_are_refused_without_reading(tmp_path: Path) -> None:
    # A symlink to /dev/zero leads outside; a FIFO inside is not a regular file (and opening
    # it for reading would block until a writer came).
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "fifo.csv")
    probs = problems_of(write(tmp_path, BASE + "tables: {bom: zero.csv, lanes: fifo.csv}\n"))
    by_path = {p.path: p for p in probs}
    assert "outside" in by_path[("tables", "bom")].message
    assert "not a regular file" in by_path[("tables", "lanes")].message


@pytest.mark.parametrize("rel", ["../secret.csv", "sub/../../secret.csv", "..\\secret.csv"])
def test_dot_dot_is_refused_and_nothing_is_echoed(tmp_path: Path, rel: str) -> None:
    (tmp_path / "secret.csv").write_text(SECRET + "\n")
    net_dir = tmp_path / "net"
    net_dir.mkdir()
    (p,) = problems_of(write(net_dir, BASE + f"tables: {{lanes: '{rel}'}}\n"))
    assert p.path == ("tables", "lanes") and "'..' is refused" in p.message
    assert SECRET not in str(p)


def test_etc_passwd_by_dot_dot_and_absolute_path(tmp_path: Path) -> None:
    text = BASE + "tables: {lanes: ../../../../etc/passwd, bom: /etc/passwd}\n"
    probs = problems_of(write(tmp_path, text))
    assert {p.path for p in probs} == {("tables", "lanes"), ("tables", "bom")}
    assert all("root:" not in str(p) for p in probs)


def test_symlink_out_of_the_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.csv").write_text(SECRET + "\n")
    net_dir = tmp_path / "net"
    net_dir.mkdir()
    (net_dir / "lanes.csv").symlink_to(tmp_path / "secret.csv")
    (p,) = problems_of(write(net_dir, BASE + "tables: {lanes: lanes.csv}\n"))
    assert p.path == ("tables", "lanes") and "outside" in p.message
    assert SECRET not in str(p)


def test_symlink_inside_the_directory_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real.csv").write_text("id,supplier,customer,part\nl1,t,s,m\n")
    (tmp_path / "lanes.csv").symlink_to(tmp_path / "real.csv")
    net = load_network(write(tmp_path, BASE + "tables: {lanes: lanes.csv}\n"))
    assert [ln.id for ln in net.lanes] == ["l1"]


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_100k_levels_of_nesting_are_a_depth_error(tmp_path: Path, suffix: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    text = f'{{"meta": {deep}}}' if suffix == "json" else f"meta: {deep}\n"
    (p,) = problems_of(write(tmp_path, text, f"net.{suffix}"))
    assert p.code == "limit" and p.line == 1
    assert "the limit is 64 (SUPPLYSHOCK_NETWORK_MAX_DEPTH)" in p.message


def test_depth_limit_is_counted_per_level(tmp_path: Path) -> None:
    # meta (level 1, the top mapping) holds 3 nested lists: 4 levels; a limit of 3 refuses it,
    # pointing at the list that opens level 4, which is meta[0][0].
    text = "meta: [[[1]]]\n"
    (p,) = problems_of(write(tmp_path, text), LoadLimits(max_depth=3))
    assert p.path == ("meta", 0, 0)
    assert problems_of(write(tmp_path, text), LoadLimits(max_depth=4))[0].code != "limit"


def test_too_many_bytes_states_the_size_the_limit_and_the_setting(tmp_path: Path) -> None:
    p = write(tmp_path, BASE + "#" * (2000 - len(BASE) - 1) + "\n")
    (prob,) = problems_of(p, LoadLimits(max_bytes=1000))
    assert prob.message == (
        "net.yaml is 2,000 bytes; the limit is 1,000 (SUPPLYSHOCK_NETWORK_MAX_BYTES)"
    )


def test_tables_count_against_the_network_byte_budget(tmp_path: Path) -> None:
    rows = "".join(f"l{i},t,s,m\n" for i in range(200))  # 200 rows of 8-10 bytes
    (tmp_path / "lanes.csv").write_text("id,supplier,customer,part\n" + rows)
    main = write(tmp_path, BASE + "tables: {lanes: lanes.csv}\n")
    budget = main.stat().st_size + 500  # the table alone (> 1,700 bytes) is over what is left
    (prob,) = problems_of(main, LoadLimits(max_bytes=budget))
    assert prob.path == ("tables", "lanes") and "SUPPLYSHOCK_NETWORK_MAX_BYTES" in prob.message


def test_too_many_rows_names_the_section_and_setting(tmp_path: Path) -> None:
    rows = "".join(f"l{i},t,s,m\n" for i in range(6))
    (tmp_path / "lanes.csv").write_text("id,supplier,customer,part\n" + rows)
    (p,) = problems_of(
        write(tmp_path, BASE + "tables: {lanes: lanes.csv}\n"), LoadLimits(max_rows=5)
    )
    # Rows l0..l4 fit; l5, on CSV line 7, is the sixth.
    assert (Path(p.file or "").name, p.line) == ("lanes.csv", 7)
    assert "the limit is 5 (SUPPLYSHOCK_NETWORK_MAX_ROWS)" in p.message


def test_inline_lists_are_capped_too(tmp_path: Path) -> None:
    (p,) = problems_of(
        write(tmp_path, "meta: {name: x}\nnotes: [1, 2, 3]\n"), LoadLimits(max_rows=2)
    )
    assert p.code == "limit" and p.path == ("notes",)


NUMBERS = BASE + textwrap.dedent(
    """\
    bom: [{parent: car, child: m, qty: .inf}]
    lanes: [{id: l, supplier: t, customer: s, part: m, lead_time_days: 1e308}]
    demand: [{site: s, part: car, per_day: .nan}, {site: t, part: car, per_day: 1e300}]
    inventory: [{site: s, part: m, on_hand: -.inf}]
    """
)


def test_non_finite_and_huge_numbers_are_refused_with_their_path(tmp_path: Path) -> None:
    probs = problems_of(write(tmp_path, NUMBERS))
    by_path = {p.path: p for p in probs}
    assert set(by_path) == {
        ("bom", 0, "qty"),
        ("lanes", 0, "lead_time_days"),
        ("demand", 0, "per_day"),
        ("demand", 1, "per_day"),
        ("inventory", 0, "on_hand"),
    }
    assert "finite" in by_path[("bom", 0, "qty")].message
    assert "3650" in by_path[("lanes", 0, "lead_time_days")].message
    assert "1000000000" in by_path[("demand", 1, "per_day")].message
    # Lines: bom is line 5 of the file, lanes 6, demand 7, inventory 8.
    assert [by_path[k].line for k in sorted(by_path)] == [5, 7, 7, 8, 6]


def test_non_finite_strings_in_csv_are_refused_at_their_line(tmp_path: Path) -> None:
    (tmp_path / "lanes.csv").write_text(
        "id,supplier,customer,part,capacity_per_day,lead_time_days\n"
        "l1,t,s,m,inf,1\nl2,t,s,m,5,NaN\nl3,t,s,m,1e300,1\n"
    )
    probs = problems_of(write(tmp_path, BASE + "tables: {lanes: lanes.csv}\n"))
    got = {(p.path, p.line) for p in probs}
    assert got == {
        (("lanes", 0, "capacity_per_day"), 2),
        (("lanes", 1, "lead_time_days"), 3),
        (("lanes", 2, "capacity_per_day"), 4),
    }


def test_json_nan_and_infinity_are_refused_with_their_path(tmp_path: Path) -> None:
    import yaml

    data = yaml.safe_load(BASE)
    data["demand"] = [{"site": "s", "part": "car", "per_day": float("nan")}]
    data["bom"] = [{"parent": "car", "child": "m", "qty": float("inf")}]
    p = write(tmp_path, json.dumps(data, indent=1), "net.json")  # writes NaN and Infinity
    probs = problems_of(p)
    assert {q.path for q in probs} == {("demand", 0, "per_day"), ("bom", 0, "qty")}
    assert all(q.line is not None and q.line > 1 for q in probs)


def test_json_duplicate_keys_are_reported_with_their_line(tmp_path: Path) -> None:
    (p,) = problems_of(
        write(tmp_path, '{"meta": {"name": "a"},\n "meta": {"name": "b"}}', "n.json")
    )
    assert p.code == "duplicate" and p.line == 2


def test_upload_bytes_take_the_same_checks(tmp_path: Path) -> None:
    main = (BASE + "tables: {lanes: lanes.csv, bom: ../bom.csv}\n").encode()
    with pytest.raises(ProblemReport) as exc:
        load_network_bytes(main, "up.yaml", {"lanes.csv": b"id,supplier,customer,part\nl1,t,s,m\n"})
    (p,) = exc.value.problems
    assert p.path == ("tables", "bom") and "'..' is refused" in p.message
    ok = (BASE + "tables: {lanes: lanes.csv}\n").encode()
    net = load_network_bytes(ok, "up.yaml", {"lanes.csv": b"id,supplier,customer,part\nl1,t,s,m\n"})
    assert [ln.id for ln in net.lanes] == ["l1"]
    with pytest.raises(ProblemReport) as exc:
        load_network_bytes(ok, "up.yaml", {}, LoadLimits(max_bytes=10))
    assert "SUPPLYSHOCK_NETWORK_MAX_BYTES" in exc.value.problems[0].message


def test_settings_set_the_limits_the_cli_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from supplyshock.services.scenarios import load_limits
    from supplyshock.settings import get_settings

    monkeypatch.setenv("SUPPLYSHOCK_NETWORK_MAX_BYTES", "100")
    get_settings.cache_clear()
    try:
        assert load_limits().max_bytes == 100
        res = CliRunner().invoke(app, ["validate", str(write(tmp_path, BASE))])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 1
    assert "the limit is 100 (SUPPLYSHOCK_NETWORK_MAX_BYTES)" in res.output
    assert "Traceback" not in res.output
