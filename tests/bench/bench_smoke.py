#!/usr/bin/env python3
"""Smoke test of a braid benchmark program: it runs the tiny shapes, exits 0 (or 77 = skipped,
printed reason, when its device is absent) and writes Google Benchmark JSON whose names are
op/backend/shape and whose entries carry the cost-model counters and the provenance context.
It checks no speed: benchmarks measure speed, tests check correctness.

    bench_smoke.py PROGRAM [extra flags]
"""
import json
import re
import subprocess
import sys
import tempfile

COUNTERS = ("bytes_per_second", "flop_per_second", "exp_per_second", "floor_us", "pct_of_floor", "runs")
CONTEXT = ("braid_commit", "device", "build_flags", "date")


def main():
    prog, extra = sys.argv[1], sys.argv[2:]
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        r = subprocess.run([prog, "--shapes=tiny", "--benchmark_min_time=0.01", *extra,
                            f"--benchmark_out={out.name}", "--benchmark_out_format=json"],
                           capture_output=True, text=True)
        sys.stdout.write(r.stdout[-2000:])
        sys.stderr.write(r.stderr[-2000:])
        if r.returncode == 77:
            return 77
        if r.returncode != 0:
            print(f"{prog} exited {r.returncode}")
            return 1
        data = json.load(open(out.name))
    missing = [k for k in CONTEXT if k not in data["context"]]
    if missing:
        print("context lacks", missing)
        return 1
    if not data["benchmarks"]:
        print("no benchmarks ran")
        return 1
    for b in data["benchmarks"]:
        if not re.fullmatch(r"[a-z0-9_]+/[a-z0-9_-]+/[A-Za-z0-9_]+", b["name"]):
            print("name is not op/backend/shape:", b["name"])
            return 1
        lacking = [c for c in COUNTERS if c not in b]
        if lacking or not (b["real_time"] > 0 and b["floor_us"] > 0 and b["bytes_per_second"] > 0):
            print("bad entry", b)
            return 1
    print(f"{len(data['benchmarks'])} benchmarks, names and counters as specified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
