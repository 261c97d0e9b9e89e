"""Merges Google-Benchmark-shaped JSON files: contexts are kept per input, benchmarks concatenated.

  python3 bench/peers/merge_json.py OUT IN1 IN2 ...
"""
import json
import sys

out, ins = sys.argv[1], sys.argv[2:]
docs = [json.load(open(p)) for p in ins]
ctx = dict(docs[0]["context"])
ctx["parts"] = [d["context"] for d in docs]
for d in docs[1:]:
    for k in ("transformers", "triton"):
        if k in d["context"]:
            ctx[k] = d["context"][k]
merged = {"context": ctx, "benchmarks": [b for d in docs for b in d["benchmarks"]]}
json.dump(merged, open(out, "w"), indent=1)
print(f"{out}: {len(merged['benchmarks'])} benchmarks")
