"""Converts ggml `test-backend-ops perf -b CPU` console output at braid's shapes into
Google-Benchmark-shaped JSON (names op/ggml-cpu/shape). ggml's perf mode reports the mean time per
run over repeated runs on the same buffers (hot cache); with several logs (repetitions) the median
of their means is reported.

  python3 bench/peers/ggml_to_json.py --ggml-commit C --command CMD --out FILE rep1.txt rep2.txt ...
"""
import argparse
import datetime
import json
import re
import statistics

LINE = re.compile(r"^\s*(SSM_SCAN|SSM_CONV|SSM_CONV_BIAS_SILU)\((.*?)\):\s+(\d+) runs -\s+([\d.]+) us/run")


def braid_name(op, params):
    p = dict(re.findall(r"(\w+)=(\[[^\]]*\]|[^,]+)", params))
    if op == "SSM_SCAN":
        n, hd, nh, L, B = (int(p[k]) for k in ("d_state", "head_dim", "n_head", "n_seq_tokens", "n_seqs"))
        step = L == 1
        if hd == 1:  # Mamba1: head_dim 1, n_head = d_inner
            return ("mamba1_step", f"B{B}_D{nh}_N{n}") if step else ("mamba1_scan", f"B{B}_L{L}_D{nh}_N{n}")
        return ("mamba2_step", f"B{B}_H{nh}_P{hd}_N{n}") if step else ("mamba2_ssd", f"B{B}_L{L}_H{nh}_P{hd}_N{n}")
    ne_a = [int(v) for v in p["ne_a"].strip("[]").split(",")]
    K = int(p["ne_b"].strip("[]").split(",")[0])
    L, D, B = ne_a[0] - (K - 1), ne_a[1], ne_a[2]
    op_name = "conv1d" if op == "SSM_CONV" else "conv1d_bias_silu"
    return op_name, f"B{B}_L{L}_D{D}_K{K}"


def contended(loadavg):
    """True when any 1-minute load average given exceeds the 2 cores the runs use."""
    ones = [float(m) for m in re.findall(r"(?:^|: )([\d.]+) ", loadavg)]
    return any(v > 2.5 for v in ones)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ggml-commit", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--cpu", default="")
    ap.add_argument("--loadavg", default="", help="load averages seen at the start and end of the runs")
    ap.add_argument("--out", required=True)
    ap.add_argument("logs", nargs="+")
    a = ap.parse_args()
    runs = {}
    for path in a.logs:
        for line in open(path):
            m = LINE.match(re.sub(r"\x1b\[[0-9;]*m", "", line))
            if m:
                op, params, n, us = m.group(1), m.group(2), int(m.group(3)), float(m.group(4))
                runs.setdefault((op, params), []).append((us, n))
    benchmarks = []
    for (op, params), vals in runs.items():
        op_name, shape = braid_name(op, params)
        name = f"{op_name}/ggml-cpu/{shape}"
        us = statistics.median(v[0] for v in vals)
        benchmarks.append({"name": name, "run_name": name, "run_type": "iteration", "real_time": us / 1e3,
                           "cpu_time": us / 1e3, "time_unit": "ms", "iterations": sum(v[1] for v in vals),
                           "repetitions": len(vals), "rep_means_ms": ",".join(f"{v[0] / 1e3:.3f}" for v in vals),
                           "ggml_case": f"{op}({params})"})
    ctx = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "peers": {"ggml": {"source": "github.com/ggml-org/ggml", "commit": a.ggml_commit,
                              "build": "CMake Release, GGML_NATIVE=ON, CPU backend only, OpenMP, GCC 12",
                              "perf_cases": "braid shapes added as extra perf cases in a local copy outside the repository"}},
           "device": a.cpu, "threads": 2, "loadavg": a.loadavg, "command": a.command,
           "contended": contended(a.loadavg),
           "timing": "ggml perf mode: mean us/run over repeated runs on the same buffers (hot cache); "
                     "median over repetitions"}
    json.dump({"context": ctx, "benchmarks": benchmarks}, open(a.out, "w"), indent=1)
    for b in benchmarks:
        print(f"{b['name']:55s} {b['real_time']:10.3f} ms  ({b['rep_means_ms']})")


if __name__ == "__main__":
    main()
