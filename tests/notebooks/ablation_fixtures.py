"""Synthetic `braid ablate` results for all eight ablations (schema: models/ablate/runner.h), so
notebooks/ablations.ipynb can be executed end to end before real results are committed. Every
grid has seeds, and the edge cases the tables must show: diverged and does_not_fit rows.

    write(ablations_dir)   writes <ablations_dir>/<name>/results/cpu.jsonl for each ablation
"""
import json
import math
import os

SCALE = "cpu"


def _row(grid, task, axes, layout, **fields):
    row = {"grid": grid, "task": task, "scale": SCALE, "arm": " ".join(f"{k}={v}" for k, v in axes.items()),
           "axes": axes, "layout": layout, "params_total": 1_000_000, "params_active": 1_000_000,
           "backend": "cpu", "dtype": "f32", "device": "fixture", "commit": "fixture", "status": "ok",
           "run_id": f"{grid}-{len(axes)}"}
    row.update(fields)
    row["run_id"] = f"{grid}-{row['arm']}-{fields.get('seed', '')}"
    return row


def _train(grid, axes, layout, seed, seq_len, evals, status="ok", loss=2.0, **fields):
    """A training row: a decaying loss curve (cut short with nulls when diverged)."""
    steps = 40
    curve = [[s, loss * (1 + 2 * math.exp(-s / 8)) if status == "ok" or s < 25 else None] for s in range(1, steps + 1)]
    row = _row(grid, "train", axes, layout, seed=seed, train={"seq_len": seq_len, "batch": 8, "steps": steps},
               loss_curve=curve, spikes=0 if status == "ok" else 3, steps=steps if status == "ok" else 25,
               max_abs_peak={"0.mamba": 3.0 + seed, "0.mlp": 1.0, "1.attention": 2.0},
               max_abs_final={"0.mamba": 2.5 + seed, "0.mlp": 0.9, "1.attention": 1.8})
    if status == "ok":
        row.update(eval=evals, final_loss=loss, tokens_per_s=5000.0 + 100 * seed, probes={},
                   train_flops_per_token=6e6, mfu_h100_bf16=1e-5)
    row.update(fields, status=status)
    if status == "does_not_fit":
        for k in ("loss_curve", "spikes", "steps", "max_abs_peak", "max_abs_final"):
            row.pop(k)
    return row


def _lm_evals(bpb, lengths=()):
    sets = {"valid/bible": bpb, "valid/fortunes": bpb + 0.1, "heldout/jargon": bpb + 0.3}
    evals = {s: {"loss": v * 0.69, "accuracy": 0.3, "bits_per_byte": v} for s, v in sets.items()}
    for L in lengths:
        for s, v in sets.items():
            evals[f"len{L}/{s}"] = {"loss": v * 0.69, "accuracy": 0.3, "bits_per_byte": v + L / 4096, "seq_len": L}
    return evals


def a1():
    rows = []
    for model, attn, layers in (("Jamba", 4, 32), ("Llama-2-7B", 32, 32)):
        layout = " ".join("A-" if i < attn else "M-" for i in range(layers))
        for ctx in (4096, 262144):
            rows.append(_row("a1-kv-cache", "memory", {"model": model}, layout, context=ctx, batch=1,
                             kv_cache_bytes=attn * 2 * 8 * 128 * 2 * ctx, ssm_state_bytes=(layers - attn) * 573440,
                             weight_bytes=10**11))
        fits = model == "Jamba"
        rows.append(_row("a1-kv-cache", "memory", {"model": model}, layout, context=131072, batch=1,
                         predicted_cache_bytes=attn * 4096 * 131072, status="ok" if fits else "does_not_fit",
                         **({"measured_cache_bytes": attn * 4096 * 131072 + 64} if fits else {})))
    return rows


def a2():
    rows = []
    for layout, attn in (("all attention", 8), ("1:7", 1), ("all Mamba", 0)):
        for batch in (1, 4):
            for ctx in (512, 2048, 8192):
                big = layout == "all attention" and batch == 4 and ctx == 8192
                tps = 1000.0 * batch / (1 + attn * ctx / 4096)
                fields = {"memory": {"predicted_bytes": 10**9}, "status": "does_not_fit"} if big else {
                    "tokens_per_s": tps, "samples_ts": [tps * 0.98, tps * 1.02],
                    "memory": {"predicted_bytes": 10**9, "measured_peak_bytes": 9 * 10**8}}
                rows.append(_row("a2-throughput", "decode", {"layout": layout}, "A- " * attn, context=ctx,
                                 batch=batch, n_gen=8, **fields))
    return rows


def a3():
    rows = []
    for layout, acc in (("AAAA", 0.99), ("MMMM", 0.4), ("MAMM", 0.97)):
        for width in (64, 128):
            for seed in (0, 1):
                status = "diverged" if (layout, width, seed) == ("MMMM", 128, 1) else "ok"
                a = min(1.0, acc + width / 1000 + seed / 100)
                rows.append(_train("a3-mqar", {"layout": layout, "width": str(width)}, layout, seed, 64,
                                   {"heldout": {"loss": 1 - a, "accuracy": a}}, status))
    return rows


def a4():
    rows = []
    for task in ("induction", "selective_copy"):
        for arch, drop in (("AA RoPE", 0.5), ("MM", 0.0), ("MA", 0.1)):
            evals = {"heldout": {"loss": 0.1, "accuracy": 1.0}}
            for L in (512, 1024):
                evals[f"len{L}/heldout"] = {"loss": 0.5, "accuracy": 1.0 - drop * L / 1024, "seq_len": L}
            status = "does_not_fit" if (task, arch) == ("selective_copy", "MA") else "ok"
            rows.append(_train("a4-synthetic", {"task": task, "arch": arch}, arch, 0, 128, evals, status))
    return rows


def a5():
    rows = []
    for arch, bpb in (("A×4 RoPE", 2.1), ("M×4", 2.15), ("1:3", 2.05)):
        for seed in (0, 1):
            probes = {"icl_format": {"format_adherence": 0.5 + seed / 4, "accuracy": 0.5, "first_answers": ["Positive"]}}
            rows.append(_train("a5-lm-ratio", {"arch": arch}, "M- A- M- M-", seed, 256, _lm_evals(bpb + seed / 100),
                               probes=probes))
    return rows


def a6():
    rows = []
    for moe, active in (("none", 1.0), ("MoE n=4 k=2 e=2", 1.4)):
        for seed in (0, 1):
            rows.append(_train("a6-moe", {"layout": "MAMM", "moe": moe}, "M- AE M- ME", seed, 256,
                               _lm_evals(2.1 - (active - 1) / 10 + seed / 100), params_active=int(active * 10**6),
                               params_total=int(active * 2 * 10**6), train_flops_per_token=active * 6e6))
    return rows


def a7():
    rows = []
    for norm in ("true", "false"):
        for lr in ("0.003", "0.01"):
            status = "diverged" if (norm, lr) == ("false", "0.01") else "ok"
            rows.append(_train("a7-mamba-norm", {"layout": "MMMAMMMM", "mamba_norm": norm, "lr": lr}, "M- M- A- M-", 0,
                               128, _lm_evals(2.3), status, loss=2.0 + float(lr)))
    return rows


def a8():
    rows = []
    for arch in ("1:3", "A×4"):
        for pe in ("rope", "none"):
            rows.append(_train("a8-pe", {"arch": arch, "pe": pe}, "M- A- M- M-", 0, 256,
                               _lm_evals(2.1 + (pe == "none") * 0.05, lengths=(1024,))))
    return rows


FIXTURES = {"a1-kv-cache": a1, "a2-throughput": a2, "a3-mqar": a3, "a4-synthetic": a4, "a5-lm-ratio": a5,
            "a6-moe": a6, "a7-mamba-norm": a7, "a8-pe": a8}


def write(ablations_dir):
    for name, make in FIXTURES.items():
        out = os.path.join(ablations_dir, name, "results")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, f"{SCALE}.jsonl"), "w") as f:
            for row in make():
                f.write(json.dumps(row) + "\n")
