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
from pathlib import Path

ROW_BYTES = 57  # one lane row plus half a BOM row and half an inventory row, in CSV


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
            {
                "id": f"l{i}",
                "supplier": f"s{a}",
                "customer": f"s{(a + 1 + rng.randrange(n_sites - 1)) % n_sites}",
                "part": f"p{rng.randrange(n_parts)}",
                "capacity_per_day": rng.randrange(1, 10_000),
                "lead_time_days": rng.randrange(0, 90),
            }
        )
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < n_rows // 2:
        p = rng.randrange(n_parts - 1)  # parent before child: no cycles; no repeated pair
        pairs.add((p, rng.randrange(p + 1, n_parts)))
    bom = [
        {"parent": f"p{p}", "child": f"p{c}", "qty": round(rng.uniform(0.1, 9), 2)}
        for p, c in sorted(pairs)
    ]
    for _ in range(n_rows // 2):
        site, part = rng.randrange(n_sites), rng.randrange(n_parts)
        inventory.append(
            {"site": f"s{site}", "part": f"p{part}", "on_hand": rng.randrange(100_000)}
        )
    # Demand for the last part, which has no BOM children (children come after parents), so
    # the requirement check runs over its lanes without multiplying down a random DAG.
    demand = [{"site": f"s{i}", "part": f"p{n_parts - 1}", "per_day": 100} for i in range(20)]
    head = {
        "meta": {"name": "bench", "synthetic": True},
        "companies": companies,
        "sites": sites,
        "parts": parts,
        "demand": demand,
    }
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
    # The inline forms hold as many rows of each table as fit in ``mb`` (rows are longer
    # inline, where every value carries its key), so all three forms are about the same size.
    budget = mb * 1e6 - len(json.dumps(head))
    csv_total = sum(p.stat().st_size for p in tables)
    cut: dict[str, list[str]] = {}
    for (name, rows), path in zip(big.items(), tables, strict=True):
        share, used, keep = budget * path.stat().st_size / csv_total, 0, []
        for r in rows:
            text = json.dumps(r, separators=(", ", ": "))
            used += len(text) + 3
            if used > share:
                break
            keep.append(text)
        cut[name] = keep
    inline_yaml = out / "inline.yaml"
    with inline_yaml.open("w") as f:
        # One flow mapping per row: the way people write big inline sections.
        f.write(yaml.safe_dump(head, default_flow_style=None, sort_keys=False, width=1000))
        for name, texts in cut.items():
            f.write(f"{name}:\n")
            f.writelines(f"- {t}\n" for t in texts)
    inline_json = out / "inline.json"
    with inline_json.open("w") as f:
        f.write(json.dumps(head)[:-1])
        for name, texts in cut.items():
            f.write(f', "{name}": [' + ",\n".join(texts) + "]")
        f.write("}\n")
    return {
        "yaml+csv": [csv_main, *tables],
        "inline yaml": [inline_yaml],
        "inline json": [inline_json],
    }


CHILD = r"""
import json, resource, sys, time
import csv, io
from pathlib import Path
mode, *paths = sys.argv[1:]
import yaml
from supplyshock.formats.limits import LoadLimits
from supplyshock.formats.network import load_network
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t, c = time.perf_counter(), time.process_time()
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
dt, cpu = time.perf_counter() - t, time.process_time() - c
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"s": dt, "cpu": cpu, "base_kb": base, "peak_kb": peak, "rows": rows}))
"""


def run_child(mode: str, paths: list[Path]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
    )
    res: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=50.0, help="size of the CSV form, in MB")
    ap.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp dir)")
    ap.add_argument("--forms", default="yaml+csv,inline yaml,inline json")
    ap.add_argument("--generate", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate is not None:
        forms = generate(args.generate, args.mb)
        print(json.dumps({k: [str(p) for p in v] for k, v in forms.items()}))
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = args.dir or Path(tmp)
        # Generated in a child: a child started from a big parent inherits its max RSS (Linux
        # carries the high-water mark across fork and exec), which would hide the load's peak.
        gen = [sys.executable, __file__, "--generate", str(out), "--mb", str(args.mb)]
        listed = subprocess.run(gen, capture_output=True, text=True, check=True).stdout
        forms = {k: [Path(p) for p in v] for k, v in json.loads(listed).items()}
        print(
            "wall and CPU seconds of the load in a fresh process; MB/s on CPU time (the wall "
            "time also counts other processes on a shared machine); peak = max RSS growth"
        )
        print(
            f"{'form':12} {'MB':>5} {'wall s':>6} {'cpu s':>6} {'MB/s':>5} {'peak MB':>7} "
            f"{'x size':>6} | {'base cpu':>8} {'base MB':>7} | {'cpu ratio':>9} {'mem ratio':>9}"
        )
        for form in args.forms.split(","):
            paths = forms[form]
            size = sum(p.stat().st_size for p in paths) / 1e6
            ours = run_child("ours", paths)
            base = run_child("base", paths)
            peak = (ours["peak_kb"] - ours["base_kb"]) / 1e3
            bpeak = (base["peak_kb"] - base["base_kb"]) / 1e3
            print(
                f"{form:12} {size:5.1f} {ours['s']:6.2f} {ours['cpu']:6.2f} "
                f"{size / ours['cpu']:5.1f} {peak:7.0f} {peak / size:6.1f} | "
                f"{base['cpu']:8.2f} {bpeak:7.0f} | "
                f"{ours['cpu'] / base['cpu']:9.2f} {peak / max(bpeak, 1):9.2f}",
                flush=True,
            )


if __name__ == "__main__":
    _ = resource  # maxrss is read in the child
    main()
