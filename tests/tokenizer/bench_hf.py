#!/usr/bin/env python3
"""Time HF tokenizers encoding a file on one thread; print JSON, best of 5.

    bench_hf.py TOKENIZER_JSON FILE [--repeats N]

Prints one JSON line:
    {"bytes", "seconds", "mb_per_s"}   encode() of the whole file as one string (no special
                                       tokens), the best of N runs; MB = 1e6 bytes
    "tokens"                           ids from that encode
    "batch_lines": {"lines", "seconds", "mb_per_s"}
                                       encode_batch() over the file's lines (split after each
                                       "\\n", newlines kept), the best of N runs
Loading the tokenizer and reading the file are not timed. One thread: RAYON_NUM_THREADS=1 and
TOKENIZERS_PARALLELISM=false are set before tokenizers is imported (scripts/bench_tokenizer.sh
also pins the process to one core). Environment: tests/tokenizer/requirements.txt.
"""

import argparse
import json
import os
import sys
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

from tokenizers import Tokenizer  # noqa: E402


def best_of(n, f):
    best, out = float("inf"), None
    for _ in range(n):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main():
    ap = argparse.ArgumentParser(description="Time HF tokenizers on one thread.")
    ap.add_argument("tokenizer_json")
    ap.add_argument("file")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    tok = Tokenizer.from_file(args.tokenizer_json)
    with open(args.file, "rb") as f:
        data = f.read()
    text = data.decode("utf-8")
    lines = text.splitlines(keepends=True)
    nbytes = len(data)

    whole_s, enc = best_of(args.repeats, lambda: tok.encode(text, add_special_tokens=False))
    batch_s, _ = best_of(args.repeats, lambda: tok.encode_batch(lines, add_special_tokens=False))
    result = {"bytes": nbytes, "seconds": whole_s, "mb_per_s": nbytes / 1e6 / whole_s, "tokens": len(enc.ids),
              "batch_lines": {"lines": len(lines), "seconds": batch_s, "mb_per_s": nbytes / 1e6 / batch_s}}
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
