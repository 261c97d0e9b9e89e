#!/usr/bin/env python3
"""Checks that a checkpoint written by `braid train` loads in transformers and computes what
braid computes: transformers' logits (fp32, eager paths) against `braid forward` on the same
ids, rel L2 within the 1e-4 parity bar.

    python tests/hf/check_trained_checkpoint.py BRAID_BIN CHECKPOINT_DIR IDS.npy

Prints one JSON line and exits 1 on a miss. Only HF model types (jamba, bamba, mamba, mamba2)
can be loaded by transformers; braid's own layouts (model_type "braid") cannot.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import transformers


def main() -> int:
    braid, ckpt, ids_path = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    cfg = json.loads((ckpt / "config.json").read_text())
    kw = {"attn_implementation": "eager"} if cfg["model_type"] in ("jamba", "bamba") else {}
    if cfg["model_type"] == "jamba":
        kw["experts_implementation"] = "eager"
    model = transformers.AutoModelForCausalLM.from_pretrained(ckpt, torch_dtype=torch.float32, **kw).eval()
    ids = np.load(ids_path).astype(np.int64)
    with torch.no_grad():
        ref = model(input_ids=torch.from_numpy(ids), use_cache=False).logits.double().numpy()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "logits.npy"
        subprocess.run([braid, "forward", "--model", str(ckpt), "--input", ids_path, "--output", str(out)], check=True)
        got = np.load(out).astype(np.float64)
    rel = float(np.linalg.norm(got - ref) / np.linalg.norm(ref))
    ok = rel <= 1e-4
    print(json.dumps({"checkpoint": str(ckpt), "model_type": cfg["model_type"], "rel_l2": rel, "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
