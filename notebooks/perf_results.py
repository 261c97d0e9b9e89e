"""Loads benchmark results (Google Benchmark JSON, bench/README.md) and builds the tables and
roofline points of notebooks/perf.ipynb. Standard library only, so the `notebooks` test suite
runs without pandas or matplotlib.

Every result is a row with: op, impl (the backend field of `op/impl/shape`), shape, device,
time_us, and where known floor_us, pct_of_floor, bound, flops (per call), bytes (per call).
Peers that write no cost counters inherit the analytic cost and floor of braid's entry with the
same op, shape and device (the cost depends on the shapes alone).
"""
import glob
import json
import os

# braid's own backends; every other impl is a peer.
OURS = ("cpu", "cpu-ref", "cuda")
# Raw GEMM baselines are named gemm/<lib>/<shape> and are the peers of braid's linear contract.
OP_ALIASES = {"gemm": "linear"}
_UNIT_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}

# Roofs of each device (core/hardware.cpp; kernels.md §9.1 and §9.3): bytes/s, SIMT FLOP/s,
# matrix FLOP/s. Keys are device names as the results' context reports them, lower case.
ROOFS = {
    "nvidia h100 80gb hbm3": {"label": "H100 SXM 80GB", "bytes_per_s": 3.0e12, "simt": 55.4e12, "mma": 798e12},
    "cpu": {"label": "2-core Zen 5", "bytes_per_s": 41e9, "simt": 330e9, "mma": 330e9},
}


def device_key(device):
    """The device name without the details after the first comma, lower case."""
    return device.split(",")[0].strip().lower()


def roofs_for(device):
    key = device_key(device)
    if key in ROOFS:
        return ROOFS[key]
    return None if "nvidia" in key else ROOFS["cpu"]


def _entries(data):
    """The benchmark entries that stand for one result each: with repetitions, the median."""
    runs = data.get("benchmarks", [])
    has_median = any(b.get("aggregate_name") == "median" for b in runs)
    for b in runs:
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                yield b
        elif not has_median or not b.get("repetitions", 1) > 1:
            yield b


def parse(data, source="<memory>"):
    """Rows of one parsed results document."""
    ctx = data.get("context", {})
    device = ctx.get("device", "unknown")
    rows = []
    for b in _entries(data):
        name = b.get("run_name", b["name"])
        parts = name.split("/")
        if len(parts) != 3:
            raise ValueError(f"{source}: benchmark name {name!r} is not op/impl/shape")
        op, impl, shape = parts
        t_us = b["real_time"] * _UNIT_US[b.get("time_unit", "ns")]
        row = {"op": OP_ALIASES.get(op, op), "impl": impl, "shape": shape, "device": device_key(device),
               "time_us": t_us, "source": os.path.basename(source), "commit": ctx.get("braid_commit", "")}
        if "floor_us" in b:
            row["floor_us"] = b["floor_us"]
            row["bound"] = b.get("label", "")
        if "bytes_per_second" in b:
            row["bytes"] = b["bytes_per_second"] * t_us * 1e-6
        if "flop_per_second" in b:
            row["flops"] = b["flop_per_second"] * t_us * 1e-6
        rows.append(row)
    return rows


def load(pattern):
    """Rows of every results file matching the glob `pattern`, peers' costs filled in. JSON
    files that are not benchmark results (no `benchmarks` list, e.g. test reports) are skipped."""
    rows = []
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            data = json.load(f)
        if isinstance(data, dict) and isinstance(data.get("benchmarks"), list):
            rows += parse(data, path)
    return fill_costs(rows)


def fill_costs(rows):
    known = {}
    for r in rows:
        if "floor_us" in r and r["impl"] in OURS:
            known.setdefault((r["op"], r["shape"], r["device"]), r)
    for r in rows:
        ref = known.get((r["op"], r["shape"], r["device"]))
        if ref is None:
            continue
        for k in ("floor_us", "bound", "bytes", "flops"):
            if k in ref and k not in r:
                r[k] = ref[k]
    for r in rows:
        if "floor_us" in r:
            r["pct_of_floor"] = 100.0 * r["floor_us"] / r["time_us"]
    return rows


def comparison(rows):
    """One dict per (device, op, shape) with braid's best time, each peer's time, the floor,
    braid's % of floor and the ratio peer time / braid time (> 1: braid is faster)."""
    groups = {}
    for r in rows:
        groups.setdefault((r["device"], r["op"], r["shape"]), []).append(r)
    table = []
    for (device, op, shape), rs in sorted(groups.items()):
        ours = [r for r in rs if r["impl"] in OURS]
        best = min(ours, key=lambda r: r["time_us"]) if ours else None
        entry = {"device": device, "op": op, "shape": shape,
                 "floor_us": next((r["floor_us"] for r in rs if "floor_us" in r), None),
                 "bound": next((r["bound"] for r in rs if r.get("bound")), "")}
        for r in rs:
            entry[f"{r['impl']}_us"] = r["time_us"]
        if best is not None:
            entry["ours"] = best["impl"]
            entry["ours_us"] = best["time_us"]
            entry["ours_pct_of_floor"] = best.get("pct_of_floor")
            for r in rs:
                if r["impl"] not in OURS:
                    entry[f"speedup_vs_{r['impl']}"] = r["time_us"] / best["time_us"]
        table.append(entry)
    return table


def roofline_points(rows):
    """(device, impl, name, arithmetic intensity FLOP/byte, achieved FLOP/s) for rows with a cost."""
    pts = []
    for r in rows:
        if r.get("bytes") and r.get("flops"):
            pts.append((r["device"], r["impl"], f"{r['op']}/{r['shape']}", r["flops"] / r["bytes"],
                        r["flops"] / (r["time_us"] * 1e-6)))
    return pts


def format_table(table, columns):
    """A plain-text table (fixed-width), for terminals and tests."""
    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v)
    grid = [columns] + [[cell(e.get(c)) for c in columns] for e in table]
    widths = [max(len(row[i]) for row in grid) for i in range(len(columns))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in grid)
