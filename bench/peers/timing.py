"""CUDA-event timing and Google-Benchmark-shaped JSON for the peer harnesses.

Protocol: warm-up calls (Triton autotuning happens there), then the median of `iters` timed calls;
"cold" flushes L2 before every timed call by writing a 256 MiB buffer, "hot" does not.
"""
import datetime
import json
import os
import platform
import statistics
import subprocess

import torch

_flush_buf = None


def flush_l2():
    global _flush_buf
    if _flush_buf is None:
        _flush_buf = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    _flush_buf.zero_()


def time_cuda(fn, iters=50, warmup=5, cold=True, guard_cycles=2_000_000):
    """Median milliseconds of fn() over `iters` calls, each bracketed by CUDA events: device time.

    Before each start event a ~1 ms GPU spin (torch.cuda._sleep) keeps the device busy while the host
    enqueues fn, so host launch latency (large for Triton's Python launcher) is not counted; see
    time_loop for the host-inclusive rate of back-to-back calls."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        if cold:
            flush_l2()
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda._sleep(guard_cycles)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def time_loop(fn, calls=200, warmup=5):
    """Milliseconds per call of `calls` back-to-back calls (hot, host launch cost included):
    the rate an eager decode loop can reach."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(calls):
        fn()
    stop.record()
    stop.synchronize()
    return start.elapsed_time(stop) / calls


def graphed(fn, warmup=3):
    """fn captured into a CUDA graph; returns a callable that replays it."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(warmup):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph.replay


class Results:
    """Collects entries and writes {"context": ..., "benchmarks": [...]} after each addition."""

    def __init__(self, path, context):
        self.path, self.benchmarks = path, []
        self.context = dict(base_context(), **context)

    def add(self, name, ms, iters, unit="us", **counters):
        t = ms * 1e3 if unit == "us" else ms
        entry = {"name": name, "run_name": name, "run_type": "iteration", "real_time": t, "cpu_time": t,
                 "time_unit": unit, "iterations": iters}
        entry.update(counters)
        self.benchmarks.append(entry)
        print(f"{name:70s} {t:12.3f} {unit}  " + " ".join(f"{k}={v}" for k, v in counters.items()), flush=True)
        self.write()

    def write(self):
        with open(self.path, "w") as f:
            json.dump({"context": self.context, "benchmarks": self.benchmarks}, f, indent=1)


def base_context():
    ctx = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "host_name": platform.node(), "python": platform.python_version(), "torch": torch.__version__,
           "torch_cuda": torch.version.cuda, "device": torch.cuda.get_device_name(),
           "timing": "device time: CUDA events around each call, the host kept ahead by a ~1 ms GPU spin before "
                     "the start event; median of the stated iterations after warm-up; cold = L2 flushed "
                     "(256 MiB write) before each call, hot = no flush; *_loop_us = back-to-back calls, "
                     "host launch cost included"}
    try:
        import triton
        ctx["triton"] = triton.__version__
    except ImportError:
        pass
    try:
        ctx["host_cpu"] = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
        ctx["host_cores"] = os.cpu_count()
    except (OSError, StopIteration):
        pass
    try:
        ctx["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                       capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    return ctx


def shape(**dims):
    """B8_L4096_D8192_N16: the shape string of the braid benchmarks."""
    return "_".join(f"{k}{v}" for k, v in dims.items())


def env_flag(name):
    return os.environ.get(name, "") not in ("", "0")
