"""Bench: load and validate a ~50 MB network; time and peak memory against the file size.

Three forms of the same network: a YAML main file with CSV tables (the usual form for big
networks), all inline YAML, and all inline JSON. Each load runs in a fresh child process, so
peak memory is that process's max RSS less what the interpreter and imports took before the
load. The baseline is the plain parse of the same bytes (``yaml.load`` with the C safe loader,
``json.loads``, ``csv.reader``) without validation; ratios are ours / baseline.

Usage: ``.venv/bin/python bench/loading.py [--mb 50] [--dir DIR]``. Targets (issue 15):
>= 10 MB/s and peak memory < 10x the file size.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROW_BYTES = 46  # one lane row plus half a BOM row and half an inventory row, in CSV


def generate(out: Path, mb: float) -> dict[str, list[Path]]:
    """Write the three forms of one random but valid network of about ``mb`` megabytes."""
    rng = random.Random(7)
    n_rows = int(mb * 1e6 / ROW_BYTES)
    n_parts, n_sites = max(100, n_rows // 20), max(50, n_rows // 50)
    companies = [{"id": f"c{i}", "name": f"Company {i}", "country": "DE"} for i in range(100)]
    sites = [{"id": f"s{i}", "company": f"c{i % 100}", "country": "CN"} for i in range(n_sites)]
    parts = [{"id": f"p{i}", "hs_code": "850511"} for i in range(n_parts)]
    lanes, bom, inventory = [], [], []
    for i in range(n_rows):
        a = rng.randrange(n_sites)
        lanes.append(
            {"id": f"l{i}", "supplier": f"s{a}", "customer": f"s{(a + 1 + rng.randrange(n_sites - 1)) % n_sites}",
             "part": f"p{rng.randrange(n_parts)}", "capacity_per_day": rng.randrange(1, 10_000),
             "lead_time_days": rng.randrange(0, 90)}
        )
    for _ in range(n_rows // 2):
        p = rng.randrange(n_parts - 1)  # parent before child: no cycles
        bom.append({"parent": f"p{p}", "child": f"p{rng.randrange(p + 1, n_parts)}",
                    "qty": round(rng.uniform(0.1, 9), 2)})
    for _ in range(n_rows // 2):
        inventory.append({"site": f"s{rng.randrange(n_sites)}", "part": f"p{rng.randrange(n_parts)}",
                          "on_hand": rng.randrange(0, 100_000)})
    head = {"meta": {"name": "bench", "synthetic": True}, "companies": companies,
            "sites": sites, "parts": parts}
    big = {"lanes": lanes, "bom": bom, "inventory": inventory}

    out.mkdir(parents=True, exist_ok=True)
    import yaml

    csv_main = out / "network.yaml"
    main = dict(head, tables={k: f"{k}.csv" for k in big})
    csv_main.write_text(yaml.safe_dump(main, default_flow_style=None, sort_keys=False, width=1000))
    tables = []
    for name, rows in big.items():
        cols = list(dict.fromkeys(k for r in rows[:100] for k in r))
        path = out / f"{name}.csv"
        with path.open("w") as f:
            f.write(",".join(cols) + "\n")
            f.writelines(",".join(str(r.get(c, "")) for c in cols) + "\n" for r in rows)
        tables.append(path)
    inline_yaml = out / "inline.yaml"
    with inline_yaml.open("w") as f:
        # One flow mapping per row: the way people write big inline sections.
        f.write(yaml.safe_dump(head, default_flow_style=None, sort_keys=False, width=1000))
        for name, rows in big.items():
            f.write(f"{name}:\n")
            f.writelines("- " + json.dumps(r, separators=(", ", ": ")) + "\n" for r in rows)
    inline_json = out / "inline.json"
    inline_json.write_text(json.dumps(dict(head, **big)))
    return {"yaml+csv": [csv_main, *tables], "inline yaml": [inline_yaml], "inline json": [inline_json]}


CHILD = r"""
import json, resource, sys, time
import csv, io
from pathlib import Path
mode, *paths = sys.argv[1:]
import yaml
from supplyshock.formats.limits import LoadLimits
from supplyshock.formats.network import load_network
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if mode == "ours":
    net = load_network(paths[0], LoadLimits(max_bytes=10**9, max_rows=10**8))
    rows = len(net.lanes) + len(net.bom) + len(net.inventory)
else:
    rows = 0
    for p in paths:
        raw = Path(p).read_bytes()
        if p.endswith(".json"):
            rows += len(json.loads(raw))
        elif p.endswith(".csv"):
            rows += sum(1 for _ in csv.reader(io.StringIO(raw.decode())))
        else:
            rows += len(yaml.load(raw, Loader=yaml.CSafeLoader) or {})
dt = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"s": dt, "base_kb": base, "peak_kb": peak, "rows": rows}))
"""


def run_child(mode: str, paths: list[Path]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, *map(str, paths)],
        capture_output=True, text=True, check=True,
    )
    res: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=50.0, help="size of the CSV form, in MB")
    ap.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp dir)")
    ap.add_argument("--forms", default="yaml+csv,inline yaml,inline json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.dir or Path(tmp)
        forms = generate(out, args.mb)
        print(f"{'form':12} {'MB':>6} {'s':>6} {'MB/s':>6} {'peak MB':>8} {'x size':>6} "
              f"{'base s':>7} {'base MB':>8} {'t ratio':>7} {'mem ratio':>9}")
        for form in args.forms.split(","):
            paths = forms[form]
            size = sum(p.stat().st_size for p in paths) / 1e6
            ours = run_child("ours", paths)
            base = run_child("base", paths)
            peak = (ours["peak_kb"] - ours["base_kb"]) / 1e3
            bpeak = (base["peak_kb"] - base["base_kb"]) / 1e3
            print(f"{form:12} {size:6.1f} {ours['s']:6.2f} {size / ours['s']:6.1f} {peak:8.0f} "
                  f"{peak / size:6.1f} {base['s']:7.2f} {bpeak:8.0f} "
                  f"{ours['s'] / base['s']:7.2f} {peak / max(bpeak, 1):9.2f}")


if __name__ == "__main__":
    _ = resource  # maxrss is read in the child
    main()
