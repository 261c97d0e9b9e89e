#!/usr/bin/env python3
"""Add gradient references to Hugging Face fixture cases (tests/fixtures/hf/<case>/).

For every case directory written by make_fixtures.py (config.json, safetensors, input_ids.npy),
this loads the checkpoint with transformers, converts it to float64, computes HF's own causal-LM
loss with labels = input_ids (the mean next-token cross-entropy over all B×(T−1) positions; the
MoE load-balancing loss stays off: output_router_logits is False) and runs loss.backward(). It
writes

    <case>/grads.safetensors   float32   d loss / d parameter, under the CHECKPOINT names
    <case>/grad.json           {"loss": fp64 loss, versions, and how the names were obtained}

Names: transformers 5 may hold parameters in memory under names or layouts that differ from
the checkpoint (fused experts, renamed keys). To record each gradient under the name and shape
the checkpoint uses, the script puts every parameter's gradient in place of its value and lets
transformers' own save_pretrained write the file, then renames nothing. Tied weights are saved
once (as in the checkpoint), holding the sum of both uses, since they are one Parameter.

Usage (on a machine with the pinned torch and transformers, see tests/hf/requirements.txt):
    python tests/hf/make_grad_fixtures.py tests/fixtures/hf            # every case in the dir
    python tests/hf/make_grad_fixtures.py /tmp/braid-random/hf         # random layouts
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import safetensors.torch
import torch
import transformers

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import load_reference  # noqa: E402  (same loading path as the logits)


def case_family(case_dir: Path) -> str:
    return json.loads((case_dir / "config.json").read_text())["model_type"]


def grad_case(case_dir: Path) -> dict:
    family = case_family(case_dir)
    model = load_reference(case_dir, family, torch.float64)
    model.train(False)  # no dropout; the loss is a deterministic function of the weights
    ids = torch.from_numpy(np.load(case_dir / "input_ids.npy").astype(np.int64))
    out = model(input_ids=ids, labels=ids, use_cache=False)
    loss = out.loss
    loss.backward()
    missing = []
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.grad is None:
                missing.append(name)
                p.zero_()
            else:
                p.copy_(p.grad)
    if missing:
        raise SystemExit(f"{case_dir.name}: no gradient for {missing}")
    model = model.to(torch.float32)
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp, safe_serialization=True, max_shard_size="10GB")
        files = sorted(Path(tmp).glob("*.safetensors"))
        tensors = {}
        for f in files:
            tensors.update(safetensors.torch.load_file(str(f)))
    safetensors.torch.save_file({k: v.contiguous() for k, v in sorted(tensors.items())},
                                str(case_dir / "grads.safetensors"), metadata={"format": "pt"})
    info = {
        "loss": float(loss.item()),
        "loss_definition": "transformers causal-LM loss, labels = input_ids (mean over B*(T-1)), no aux loss",
        "precision": "model.to(float64); loss.backward(); gradients stored as float32",
        "tensors": len(tensors),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
    (case_dir / "grad.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", type=Path, help="directory holding case directories")
    ap.add_argument("--only", default=None, help="one case name")
    args = ap.parse_args()
    torch.manual_seed(0)
    cases = sorted(p for p in args.root.iterdir() if (p / "input_ids.npy").exists())
    if args.only:
        cases = [c for c in cases if c.name == args.only]
    if not cases:
        raise SystemExit(f"no cases under {args.root}")
    for c in cases:
        info = grad_case(c)
        print(f"{c.name}: loss {info['loss']:.9f}, {info['tensors']} gradient tensors")


if __name__ == "__main__":
    main()
