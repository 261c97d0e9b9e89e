"""Loads `braid ablate` results and builds the tables of notebooks/ablations.ipynb, one function
per ablation of ablations.md §5 (A1–A8). Standard library only, so the `notebooks` test suite
runs without pandas or matplotlib.

Results are ablations/<name>/results/{gpu,cpu}.jsonl: one JSON row per run, schema at the top of
models/ablate/runner.h. Tables are lists of dicts. Every entry starts with `arm` (the labels of
the axes that vary across the table), then one column per axis, `n` (rows aggregated: the
seeds of a training arm) and `status` ("ok", or a count of each status such as "ok 1,
diverged 1"). A number is the mean over the rows that report it, with `<name>_std` beside it
(sample standard deviation; None below two values), so a diverged or non-fitting run shows in
the status and never as a zero.
"""
import json
import math
import os
import statistics
import warnings

ABLATIONS = ("a1-kv-cache", "a2-throughput", "a3-mqar", "a4-synthetic", "a5-lm-ratio", "a6-moe",
             "a7-mamba-norm", "a8-pe")
SCALES = ("gpu", "cpu")  # the results a notebook prefers, first to last
GIB, MIB = 2.0 ** 30, 2.0 ** 20


# ---- loading ------------------------------------------------------------------------------

def load_rows(paths):
    """Rows of one results file or of a list of them, in file order. A missing file gives no
    rows; a line that is not a JSON object (a run killed mid-write) is skipped with a warning."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    rows = []
    for path in paths:
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    row = None
                if not isinstance(row, dict):
                    warnings.warn(f"{path}:{n}: not a JSON object, skipped")
                    continue
                rows.append(row)
    return rows


def results_file(ablations_dir, name):
    """(path, scale) of an ablation's results, gpu.jsonl before cpu.jsonl; (None, None) when
    there are none yet."""
    for scale in SCALES:
        path = os.path.join(ablations_dir, name, "results", f"{scale}.jsonl")
        if os.path.isfile(path):
            return path, scale
    return None, None


def describe(rows):
    """One line of provenance: rows, and each distinct scale, device, dtype and commit."""
    def distinct(key):
        return ", ".join(sorted({str(r.get(key)) for r in rows if r.get(key) is not None})) or "-"
    return (f"{len(rows)} rows; scale {distinct('scale')}; device {distinct('device')}; "
            f"dtype {distinct('dtype')}; commit {distinct('commit')}")


# ---- shared helpers -----------------------------------------------------------------------

def dig(row, *keys):
    """row[k1][k2]...; None where a key is missing or a level is not a dict."""
    for k in keys:
        if not isinstance(row, dict):
            return None
        row = row.get(k)
    return row


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def mean_std(values):
    """(mean, sample std, n) of the finite numbers in `values`; (None, None, 0) without any,
    std None with one."""
    xs = [float(v) for v in values if _number(v)]
    if not xs:
        return None, None, 0
    return statistics.fmean(xs), statistics.stdev(xs) if len(xs) > 1 else None, len(xs)


def status_of(rows):
    """"ok" when every row is ok, else each status with its count, most frequent first."""
    counts = {}
    for r in rows:
        s = r.get("status", "unknown")
        counts[s] = counts.get(s, 0) + 1
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{s} {n}" for s, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def group(rows, *keys):
    """Rows grouped by the values of `keys`, groups in order of first appearance (the grid's)."""
    groups = {}
    for r in rows:
        groups.setdefault(tuple(json.dumps(r.get(k)) for k in keys), []).append(r)
    return list(groups.values())


def aggregate(rows, metrics):
    """{name: mean, name_std: std} over `rows` for each metric; `metrics` maps a name to a
    function of a row giving a number, a list of numbers (pooled with the other rows') or None."""
    out = {}
    for name, fn in metrics.items():
        values = []
        for r in rows:
            v = fn(r)
            values.extend(v if isinstance(v, (list, tuple)) else [v])
        out[name], out[name + "_std"], _ = mean_std(values)
    return out


def axis_names(row):
    """The row's axes in the grid's order (the order they appear in its arm label)."""
    axes, arm = row.get("axes") or {}, " " + row.get("arm", "")

    def position(a):
        i = arm.find(f" {a}={axes[a]}")
        return i if i >= 0 else len(arm)
    return sorted(axes, key=lambda a: (position(a), a))


def _arm_namer(rows):
    """A function naming an arm by the labels of the axes that vary across `rows` ("a=x, b=y"
    when several vary, the bare label when one does, every axis when none does)."""
    names = axis_names(rows[0]) if rows else []
    varying = [a for a in names if len({str(dig(r, "axes", a)) for r in rows}) > 1] or names

    def name(row):
        axes = row.get("axes") or {}
        if not axes:
            return row.get("arm", "")
        if len(varying) == 1:
            return str(axes.get(varying[0]))
        return ", ".join(f"{a}={axes.get(a)}" for a in varying)
    return name


def arm_tables(rows, keys, entry):
    """One entry per group of `rows` (grouped by scale, arm and `keys`): the arm name, its axes,
    `n`, `status`, then what `entry(group)` returns (a dict, or a list of dicts for several
    entries per group)."""
    name = _arm_namer(rows)
    table = []
    for g in group(rows, "scale", "arm", *keys):
        head = {"arm": name(g[0])}
        head.update({a: dig(g[0], "axes", a) for a in axis_names(g[0])})
        head.update({"n": len(g), "status": status_of(g)})
        body = entry(g)
        for b in body if isinstance(body, list) else [body]:
            table.append({**head, **b})
    return table


def length_label(n):
    """262144 → "256K", 1000 → "1000"."""
    return f"{n // 1024}K" if isinstance(n, int) and n >= 1024 and n % 1024 == 0 else str(n)


def _int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _scaled(v, unit):
    return v / unit if _number(v) else None


def params(g, unit=1e6, suffix="M"):
    """Total and active parameters of an arm (the same for all its seeds), in `unit`s."""
    return {f"params_total_{suffix}": _scaled(g[0].get("params_total"), unit),
            f"params_active_{suffix}": _scaled(g[0].get("params_active"), unit)}


# ---- evals --------------------------------------------------------------------------------

def evals_by_length(row, metric):
    """{seq_len: {set: value}} of one eval metric: the data's own sets (eval "heldout",
    "valid/bible") at the training length, the grid's extra evals ("len1024/valid/bible", which
    carry their seq_len) at theirs, under the data's set name."""
    train_len = dig(row, "train", "seq_len")
    out = {}
    for name, res in (row.get("eval") or {}).items():
        if not isinstance(res, dict) or not _number(res.get(metric)):
            continue
        if "seq_len" in res:
            length, base = res["seq_len"], res.get("set") or name.split("/", 1)[-1]
        else:
            length, base = train_len, name
        out.setdefault(length, {})[base] = res[metric]
    return out


def metric_by_length(row, metric):
    """{seq_len: mean of `metric` over the eval sets measured at every length}, so each length
    scores the same data (a set too short for the longest windows is left out everywhere)."""
    by_len = evals_by_length(row, metric)
    common = set.intersection(*(set(s) for s in by_len.values())) if by_len else set()
    return {length: statistics.fmean(sets[s] for s in common) for length, sets in by_len.items() if common}


def _lengths(rows, metric):
    return sorted({L for r in rows for L in evals_by_length(r, metric) if isinstance(L, int)})


def _eval_names(rows, metric):
    names = []
    for r in rows:
        for name, res in (r.get("eval") or {}).items():
            if isinstance(res, dict) and _number(res.get(metric)) and name not in names:
                names.append(name)
    return names


def own_eval(row, metric, set_name="heldout"):
    """`metric` of the data's own eval set `set_name` at the training length."""
    return dig(row, "eval", set_name, metric)


# ---- A1: Jamba Table 1 --------------------------------------------------------------------

def a1_table(rows):
    """A1 (Jamba Table 1; ablations.md §1.2): per model, params total / active (billions), its
    attention layers, the analytic KV cache (GiB; 16-bit unless the config says otherwise) at
    each context, the per-sequence SSM state (MiB, constant in context) and the weights (GiB);
    then the cache allocated on the backend at the grid's measure_context beside its prediction
    (MiB; the row's status says whether it fitted)."""
    def entry(g):
        analytic = sorted((r for r in g if "kv_cache_bytes" in r), key=lambda r: r.get("context") or 0)
        measured = [r for r in g if "predicted_cache_bytes" in r]
        layers = (g[0].get("layout") or "").split()
        e = {**params(g, 1e9, "B"), "layers": len(layers), "attn_layers": sum(t.startswith("A") for t in layers)}
        for r in analytic:
            e[f"kv_GiB@{length_label(r.get('context'))}"] = _scaled(r["kv_cache_bytes"], GIB)
        e["ssm_state_MiB"] = _scaled(dig(analytic[-1], "ssm_state_bytes"), MIB) if analytic else None
        e["weights_GiB"] = _scaled(dig(analytic[-1], "weight_bytes"), GIB) if analytic else None
        m = measured[-1] if measured else {}
        e.update({"measure_context": m.get("context"), "measure_status": m.get("status"),
                  "cache_predicted_MiB": _scaled(m.get("predicted_cache_bytes"), MIB),
                  "cache_measured_MiB": _scaled(m.get("measured_cache_bytes"), MIB)})
        return e
    return arm_tables(rows, (), entry)


# ---- A2: Jamba Fig. 3 ---------------------------------------------------------------------

def a2_table(rows, baseline=None):
    """A2 (Jamba Fig. 3): decode tokens/s per layout at each (batch, context): the mean over the
    timed repetitions (samples_ts) and their std, the predicted and measured peak memory (GiB),
    and the speedup over the `baseline` arm (its name in the table; default the first arm, the
    grid's all-attention layout) at the same point. A point that does not fit shows its status
    and no throughput."""
    def entry(g):
        e = {"batch": g[0].get("batch"), "context": g[0].get("context")}
        e.update(aggregate(g, {"tokens_per_s": lambda r: r.get("samples_ts") or r.get("tokens_per_s"),
                               "predicted_GiB": lambda r: _scaled(dig(r, "memory", "predicted_bytes"), GIB),
                               "measured_peak_GiB": lambda r: _scaled(dig(r, "memory", "measured_peak_bytes"), GIB)}))
        return e
    table = arm_tables(rows, ("batch", "context"), entry)
    base = baseline if baseline is not None else (table[0]["arm"] if table else None)
    ref = {(e["batch"], e["context"]): e["tokens_per_s"] for e in table if e["arm"] == base}
    for e in table:
        b = ref.get((e["batch"], e["context"]))
        e["speedup"] = e["tokens_per_s"] / b if e["tokens_per_s"] is not None and b else None
    return table


# ---- A3: Zoology MQAR ---------------------------------------------------------------------

def a3_table(rows):
    """A3 (Zoology MQAR; Jamba §6.2): held-out recall accuracy per layout × width, mean ± std
    over seeds, with the held-out loss; `d_model` is the width axis as a number (None without
    one). One entry per arm; pivot layout × d_model to read it as Zoology Fig. 2."""
    def entry(g):
        e = {"d_model": _int(dig(g[0], "axes", "width")), **params(g)}
        e.update(aggregate(g, {"accuracy": lambda r: own_eval(r, "accuracy"),
                               "loss": lambda r: own_eval(r, "loss")}))
        return e
    return arm_tables(rows, (), entry)


# ---- A4: Mamba paper synthetic tasks ------------------------------------------------------

def a4_table(rows):
    """A4 (Mamba §4.1, Table 2: induction heads and selective copying): accuracy per task × arch
    at the training length and at each longer eval length, mean ± std over seeds; one entry per
    (arm, test_len), `extrapolated` marking lengths beyond training. An arm without evals
    (diverged, does not fit) is one entry with its status and no accuracy."""
    def entry(g):
        train_len = dig(g[0], "train", "seq_len")
        lengths = _lengths(g, "accuracy") or [train_len]
        return [{"test_len": L, "train_len": train_len,
                 "extrapolated": isinstance(L, int) and isinstance(train_len, int) and L > train_len,
                 **aggregate(g, {"accuracy": lambda r, L=L: metric_by_length(r, "accuracy").get(L)})}
                for L in lengths]
    return arm_tables(rows, (), entry)


# ---- A5, A6: language modelling -----------------------------------------------------------

def _lm_table(rows, extra):
    """Layers and params, bits per byte on every eval set (columns "bpb:<set>": the corpus's
    valid/<domain> and never-trained heldout/<domain> sets, and any grid evals) and the final
    training loss, mean ± std over seeds, then the columns `extra(group)` adds."""
    sets = _eval_names(rows, "bits_per_byte")

    def entry(g):
        e = {"layers": g[0].get("layout"), **params(g)}
        e.update(aggregate(g, {f"bpb:{s}": lambda r, s=s: dig(r, "eval", s, "bits_per_byte") for s in sets}))
        e.update(aggregate(g, {"final_loss": lambda r: r.get("final_loss")}))
        return {**e, **extra(g)}
    return arm_tables(rows, (), entry)


def _probe_columns(rows):
    """Per probe, the mean ± std over seeds of its format adherence (share of greedy first
    answers that are one of the label words) and accuracy: "<probe>:adherence", "<probe>:accuracy"."""
    names = []
    for r in rows:
        names += [p for p in (r.get("probes") or {}) if p not in names]
    metrics = {}
    for p in names:
        metrics[f"{p}:adherence"] = lambda r, p=p: dig(r, "probes", p, "format_adherence")
        metrics[f"{p}:accuracy"] = lambda r, p=p: dig(r, "probes", p, "accuracy")
    return lambda g: aggregate(g, metrics)


def a5_table(rows):
    """A5 (Jamba Table 4, Mamba-2 Table 2; probe: Jamba Table 6): bits per byte per layout on
    each eval set, mean ± std over seeds, params, final loss, and the in-context format probe's
    adherence and accuracy."""
    return _lm_table(rows, _probe_columns(rows))


def a6_table(rows):
    """A6 (Jamba Table 7): MoE vs dense. A5's bits per byte beside total and active params,
    training FLOPs per token (GFLOP; tells the same-expert-width MoE from the FLOP-matched one)
    and training tokens/s."""
    def extra(g):
        return {"train_GFLOP_per_token": _scaled(g[0].get("train_flops_per_token"), 1e9),
                **aggregate(g, {"tokens_per_s": lambda r: r.get("tokens_per_s")})}
    return _lm_table(rows, extra)


# ---- A7: Mamba inner norms and stability --------------------------------------------------

def is_ssm_sublayer(name, layout=""):
    """Whether a sublayer ("3.mamba", "3.mamba2", or "3.mixer" with layer 3 an M/2 in the row's
    layout string) is a Mamba mixer."""
    index, _, kind = name.partition(".")
    if kind.startswith("mamba"):
        return True
    tokens = (layout or "").split()
    i = _int(index)
    return kind == "mixer" and i is not None and i < len(tokens) and tokens[i][:1] in ("M", "2")


def max_abs_ssm(row, which="max_abs_peak"):
    """The largest |activation| over the row's Mamba sublayers (`which`: max_abs_peak over
    training or max_abs_final at the last logged step); None without any."""
    values = [v for k, v in (row.get(which) or {}).items() if is_ssm_sublayer(k, row.get("layout")) and _number(v)]
    return max(values) if values else None


def a7_table(rows):
    """A7 (Jamba §6.4; Jamba-1.5 activation loss): per arm, loss spikes (steps above 1.5 × the
    median of the previous 50), the final loss — or, when no seed finished, the status (e.g.
    "diverged") — the steps logged (where a diverged run stopped), and the largest |activation|
    over the Mamba sublayers, peak over training and at the last step, with the sublayer (any
    kind) that peaked highest."""
    def entry(g):
        e = aggregate(g, {"spikes": lambda r: r.get("spikes"), "final_loss": lambda r: r.get("final_loss"),
                          "steps": lambda r: r.get("steps"),
                          "max_abs_mamba_peak": max_abs_ssm,
                          "max_abs_mamba_final": lambda r: max_abs_ssm(r, "max_abs_final")})
        if e["final_loss"] is None:
            e["final_loss"] = status_of(g)
        peaks = [(v, k) for r in g for k, v in (r.get("max_abs_peak") or {}).items() if _number(v)]
        e["max_abs_peak_sublayer"] = max(peaks)[1] if peaks else None
        return e
    return arm_tables(rows, (), entry)


def loss_curves(rows):
    """Each training row's loss curve for plotting: arm name, seed, status, and the steps and
    losses of its finite points (a diverged run's curve ends at its last finite loss)."""
    name = _arm_namer(rows)
    curves = []
    for r in rows:
        pts = [(s, l) for s, l in (r.get("loss_curve") or []) if _number(l)]
        curves.append({"arm": name(r), "seed": r.get("seed"), "status": r.get("status"),
                       "steps": [s for s, _ in pts], "losses": [l for _, l in pts]})
    return curves


# ---- A8: positional encoding --------------------------------------------------------------

def a8_table(rows):
    """A8 (Jamba Table 8): bits per byte per arch × pe at the training length and each longer
    eval length ("bpb@<len>", the mean over the eval sets measured at every length), mean ± std
    over seeds, with `train_len`."""
    lengths = _lengths(rows, "bits_per_byte")

    def entry(g):
        e = {"layers": g[0].get("layout"), "train_len": dig(g[0], "train", "seq_len")}
        e.update(aggregate(g, {f"bpb@{length_label(L)}": lambda r, L=L: metric_by_length(r, "bits_per_byte").get(L)
                               for L in lengths}))
        return e
    return arm_tables(rows, (), entry)


def with_std(table, digits=4):
    """A copy of `table` for display: each number that has a `<name>_std` becomes the string
    "mean ± std" (the mean alone for one value), and the `_std` columns are dropped."""
    def fmt(v):
        return f"{v:.{digits}g}"
    out = []
    for e in table:
        d = {}
        for k, v in e.items():
            if k.endswith("_std") and k[:-4] in e:
                continue
            s = e.get(k + "_std")
            d[k] = (f"{fmt(v)} ± {fmt(s)}" if _number(s) else fmt(v)) if _number(v) and k + "_std" in e else v
        out.append(d)
    return out


TABLES = {"a1-kv-cache": a1_table, "a2-throughput": a2_table, "a3-mqar": a3_table, "a4-synthetic": a4_table,
          "a5-lm-ratio": a5_table, "a6-moe": a6_table, "a7-mamba-norm": a7_table, "a8-pe": a8_table}
