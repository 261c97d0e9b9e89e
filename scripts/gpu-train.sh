#!/usr/bin/env bash
# scripts/gpu-train.sh — the training measurements of a CUDA machine, in one command.
#
#   scripts/gpu-train.sh BUILD_DIR CORPUS_DIR OUT_DIR
#
# BUILD_DIR holds a CUDA build (scripts/gpu-check.sh makes one), CORPUS_DIR a corpus made by
# scripts/make_corpus.sh. Writes into OUT_DIR:
#   throughput-<dtype>.json  `braid train` on models/configs/ablation-1to7.json (the ablation-size
#                            1:7 hybrid, ablations.md §5): batch 64 × 512 tokens = 32768 tokens
#                            per step, STEPS steps (default 30), bf16 and f32 compute; the last
#                            stdout line (tokens/s over the run, achieved TFLOP/s, MFU against the
#                            H100's dense bf16 peak) plus the per-step log
#   hf-load.json             a Jamba-layout checkpoint trained on CUDA for 20 steps, loaded by
#                            transformers and compared with `braid forward`
#                            (tests/hf/check_trained_checkpoint.py; needs torch and transformers)
set -uo pipefail
build=$1 corpus=$2 out=$3
steps=${STEPS:-30}
braid="$build/models/braid"
mkdir -p "$out"
for dt in bf16 f32; do
  run="$out/run-$dt"
  rm -rf "$run"
  "$braid" train --config models/configs/ablation-1to7.json --data "corpus:$corpus" --backend cuda --dtype "$dt" \
    --steps "$steps" --batch 64 --seq-len 512 --lr 3e-3 --eval-batches 2 --out "$run" >"$out/train-$dt.log" 2>&1
  echo "gpu-train: $dt rc=$?: $(tail -n 1 "$out/train-$dt.log")"
  { tail -n 1 "$out/train-$dt.log"; cat "$run/train.jsonl"; } >"$out/throughput-$dt.json"
done
# A Jamba layout (HF model_type jamba, attention + Mamba + MoE) trained on CUDA, then loaded by transformers.
fixture=tests/fixtures/hf/jamba_offsets
rm -rf "$out/jamba"
"$braid" train --model "$fixture" --data "tokens:$fixture/input_ids.npy" --backend cuda --steps 20 --batch 2 \
  --seq-len 16 --lr 1e-2 --out "$out/jamba" >"$out/jamba-train.log" 2>&1
echo "gpu-train: jamba train rc=$?: $(tail -n 1 "$out/jamba-train.log")"
python3 tests/hf/check_trained_checkpoint.py "$braid" "$out/jamba/checkpoint" "$fixture/input_ids.npy" \
  >"$out/hf-load.json" 2>"$out/hf-load.err"
echo "gpu-train: transformers load rc=$?: $(cat "$out/hf-load.json") $(tail -n 3 "$out/hf-load.err")"
