#!/usr/bin/env bash
# scripts/bench_tokenizer.sh TOKENIZER_JSON TEXT_FILE [OUT.json] — encoding speed of braid's
# tokenizer against HF tokenizers on the same text, in the same run, both pinned to one core
# (taskset -c 0; HF with RAYON_NUM_THREADS=1). braid is timed as a whole `braid tokenize`
# process (load + encode + decode: an upper bound on its encode time); HF as encode() of the
# whole text in Python (tests/tokenizer/bench_hf.py, load excluded). Best of 5 each.
# HF tokenizers comes from a venv with tests/tokenizer/requirements.txt (TOKVENV, default
# /tmp/tokvenv): python3 -m venv /tmp/tokvenv && /tmp/tokvenv/bin/pip install -r tests/tokenizer/requirements.txt
set -euo pipefail
cd "$(dirname "$0")/.."
tok=$1 text=$2 out=${3:-}
venv=${TOKVENV:-/tmp/tokvenv}
braid=${BRAID:-build/models/braid}
best=
for _ in 1 2 3 4 5; do
  t0=$(date +%s.%N)
  taskset -c 0 "$braid" tokenize --tokenizer "$tok" --text-file "$text" > /dev/null
  t=$(echo "$(date +%s.%N) - $t0" | bc)
  if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
done
hf=$(RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false taskset -c 0 "$venv/bin/python" tests/tokenizer/bench_hf.py "$tok" "$text")
bytes=$(stat -c %s "$text")
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
hf_version=$("$venv/bin/python" -c "import tokenizers; print(tokenizers.__version__)")
result=$(python3 - "$bytes" "$best" "$hf" "$tok" "$text" "$cpu" "$commit" "$hf_version" <<'PY'
import json, sys
nbytes, ours, hf, tok, text, cpu, commit, hfv = int(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3]), *sys.argv[4:]
print(json.dumps({"tokenizer": tok, "text": text, "bytes": nbytes, "braid_seconds": ours,
                  "braid_mb_per_s": nbytes / 1e6 / ours, "hf_seconds": hf["seconds"], "hf_mb_per_s": hf["mb_per_s"],
                  "speedup": hf["seconds"] / ours, "cpu": cpu + " (one core)", "commit": commit,
                  "hf_tokenizers": hfv}))
PY
)
echo "$result"
if [ -n "$out" ]; then echo "$result" >> "$out"; fi
