#!/usr/bin/env python3
"""notebooks/perf_results.py on the committed results: every braid entry parses with its cost
counters, and a peer entry is matched to braid's entry of the same op, shape and device.

    test_perf_results.py SOURCE_ROOT
"""
import glob
import os
import sys

root = sys.argv[1]
sys.path.insert(0, os.path.join(root, "notebooks"))
import perf_results as pr  # noqa: E402


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


rows = pr.load(os.path.join(root, "bench", "results", "*.json"))
ours = [r for r in rows if r["impl"] in pr.OURS]
if not ours:
    fail("no braid results under bench/results")
for r in ours:
    if not (r["time_us"] > 0 and r.get("floor_us", 0) > 0 and r.get("bytes", 0) > 0):
        fail(f"entry without time, floor or bytes: {r}")

# A peer entry without counters, twice as slow as braid's first entry: it inherits the floor
# and the cost, and the comparison reports a speedup of 2 for braid.
ref = ours[0]
peer_doc = {"context": {"device": ref["device"] + ", peer"},
            "benchmarks": [{"name": f"{ref['op']}/peer-x/{ref['shape']}", "run_type": "iteration",
                            "real_time": 2 * ref["time_us"], "time_unit": "us"}]}
rows = pr.fill_costs(rows + pr.parse(peer_doc))
peer = [r for r in rows if r["impl"] == "peer-x"][0]
if abs(peer["pct_of_floor"] - ref["pct_of_floor"] / 2) > 1e-9 * ref["pct_of_floor"]:
    fail(f"peer % of floor {peer['pct_of_floor']} != half of {ref['pct_of_floor']}")
table = pr.comparison(rows)
entry = [e for e in table if (e["op"], e["shape"], e["device"]) == (ref["op"], ref["shape"], ref["device"])][0]
if abs(entry["speedup_vs_peer-x"] - 2.0) > 1e-9:
    fail(f"speedup {entry['speedup_vs_peer-x']} != 2")
if not pr.roofline_points(rows):
    fail("no roofline points")
print(pr.format_table(table[:5], ["op", "shape", "ours_us", "floor_us", "ours_pct_of_floor"]))

# Names that are not op/impl/shape are an error naming the file and the name.
try:
    pr.parse({"benchmarks": [{"name": "bad_name", "real_time": 1, "time_unit": "us"}]}, "x.json")
    fail("a bad name was accepted")
except ValueError as e:
    if "x.json" not in str(e) or "bad_name" not in str(e):
        fail(f"unclear error: {e}")
print(f"{len(rows)} results parsed; tables built")
