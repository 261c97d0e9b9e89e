"""mamba_ssm peers: the Mamba1 CUDA selective scan, the Triton SSD, and the Triton decode state update.

mamba_ssm is imported from a source checkout outside this repository (--mamba-src) without running its
package __init__ (which pulls in the model classes): a stub package module is registered whose
__path__ points at the checkout. The CUDA scan is a separately built `selective_scan_cuda` extension
(--ss-build, the folder holding selective_scan_cuda*.so).
"""
import glob
import importlib.util
import math
import sys
import types

import torch
import torch.nn.functional as F

from timing import graphed, shape, time_cuda, time_loop


def import_mamba(src):
    pkg = types.ModuleType("mamba_ssm")
    pkg.__path__ = [f"{src}/mamba_ssm"]
    sys.modules["mamba_ssm"] = pkg
    from mamba_ssm.ops.triton.selective_state_update import selective_state_update
    from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined
    return mamba_chunk_scan_combined, selective_state_update


def import_selective_scan(build_dir):
    so = glob.glob(f"{build_dir}/selective_scan_cuda*.so")
    if not so:
        return None
    spec = importlib.util.spec_from_file_location("selective_scan_cuda", so[0])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def gen(seed):
    return torch.Generator(device="cuda").manual_seed(seed)


def realistic_A(shape_, g):
    """A = -exp(U(log 1, log 16)), as in mamba's tests."""
    return -torch.exp(torch.empty(shape_, device="cuda").uniform_(0, math.log(16), generator=g))


def dt_bias(n, g):
    """inverse softplus of dt ~ logU(1e-3, 1e-1), Mamba's initialisation."""
    dt = torch.exp(torch.empty(n, device="cuda").uniform_(math.log(1e-3), math.log(1e-1), generator=g))
    return dt + torch.log(-torch.expm1(-dt))


def randn(*s, g, dtype=torch.bfloat16, scale=1.0, shift=0.0):
    return (torch.randn(*s, device="cuda", generator=g) * scale + shift).to(dtype)


# ---------------------------------------------------------------- Mamba1 CUDA scan (selective_scan_cuda.fwd)
def mamba1_scan(res, ss, B, L, D, N, iters):
    g = gen(1)
    u = randn(B, D, L, g=g)
    delta = randn(B, D, L, g=g, shift=-4.0)  # softplus(delta + bias) in the kernel
    A = realistic_A((D, N), g)
    Bm = randn(B, 1, N, L, g=g, scale=N ** -0.5)
    Cm = randn(B, 1, N, L, g=g, scale=N ** -0.5)
    Dv = torch.randn(D, device="cuda", generator=g)
    z = randn(B, D, L, g=g)
    bias = dt_bias(D, g)
    fn = lambda: ss.fwd(u, delta, A, Bm, Cm, Dv, z, bias, True)
    out = fn()
    assert torch.isfinite(out[-1]).all(), "selective_scan_cuda produced non-finite output"
    name = f"mamba1_scan/mamba_ssm-cuda/{shape(B=B, L=L, D=D, N=N)}"
    cold = time_cuda(fn, iters)
    hot = time_cuda(fn, iters, cold=False)
    updates = B * L * D * N
    res.add(name, cold, iters, unit="ms", hot_ms=round(hot, 5), items_per_second=updates / (cold * 1e-3))


# ---------------------------------------------------------------- Mamba2 SSD (Triton mamba_chunk_scan_combined)
def ssd_inputs(B, L, H, P, N, seed=2):
    g = gen(seed)
    return dict(x=randn(B, L, H, P, g=g), dt=randn(B, L, H, g=g, shift=-4.0), A=realistic_A((H,), g),
                B=randn(B, L, 1, N, g=g, scale=N ** -0.5), C=randn(B, L, 1, N, g=g, scale=N ** -0.5),
                D=torch.randn(H, device="cuda", generator=g), z=randn(B, L, H, P, g=g), dt_bias=dt_bias(H, g))


def mamba2_ssd(res, ssd, B, L, H, P, N, iters, chunk=256, check_heads=None):
    t = ssd_inputs(B, L, H, P, N)
    fn = lambda: ssd(t["x"], t["dt"], t["A"], t["B"], t["C"], chunk, D=t["D"], z=t["z"], dt_bias=t["dt_bias"],
                     dt_softplus=True)
    with torch.no_grad():
        y = fn()
        counters = {}
        if check_heads:
            counters = ssd_check(t, y, check_heads, chunk)
        del y
        name = f"mamba2_ssd/mamba_ssm-triton/{shape(B=B, L=L, H=H, P=P, N=N)}"
        cold = time_cuda(fn, iters)
        hot = time_cuda(fn, iters, cold=False)
    res.add(name, cold, iters, unit="ms", hot_ms=round(hot, 5), items_per_second=B * L * H * P * N / (cold * 1e-3),
            chunk_size=chunk, **counters)


def ssd_reference(t, heads, chunk):
    """float64 chunked SSD for batch 0 and the given heads: y = (SSM(x) + D x) * silu(z)."""
    hs = torch.tensor(heads, device="cuda")
    x = t["x"][0][:, hs].double()                      # (L, h, P)
    dt = F.softplus(t["dt"][0][:, hs].double() + t["dt_bias"][hs].double())  # (L, h)
    A = t["A"][hs].double()
    Bm, Cm = t["B"][0, :, 0].double(), t["C"][0, :, 0].double()  # (L, N)
    L, h, P = x.shape
    c = L // chunk
    x, dt, Bm, Cm = (v.reshape(c, chunk, *v.shape[1:]) for v in (x, dt, Bm, Cm))
    cum = torch.cumsum(dt * A, dim=1)                  # (c, Q, h)
    CB = Cm @ Bm.transpose(1, 2)                       # (c, Q, Q)
    mask = torch.tril(torch.ones(chunk, chunk, dtype=torch.bool, device="cuda"))
    y = torch.empty_like(x)
    for k in range(h):
        decay = torch.exp(cum[:, :, None, k] - cum[:, None, :, k]).masked_fill(~mask, 0)  # (c, Q, Q)
        M = CB * decay * dt[:, None, :, k]
        y[:, :, k] = M @ x[:, :, k]                    # intra-chunk
        w = torch.exp(cum[:, -1:, k] - cum[:, :, k]) * dt[:, :, k]  # (c, Q)
        s = torch.einsum("cq,cqp,cqn->cpn", w, x[:, :, k], Bm)       # chunk states
        S = torch.zeros(P, Bm.shape[-1], dtype=torch.float64, device="cuda")
        for i in range(c):                             # inter-chunk recurrence
            y[i, :, k] += torch.exp(cum[i, :, k])[:, None] * (Cm[i] @ S.T)
            S = torch.exp(cum[i, -1, k]) * S + s[i]
    y = y.reshape(L, h, P) + t["D"][hs].double()[None, :, None] * t["x"][0][:, hs].double()
    return y * F.silu(t["z"][0][:, hs].double())


def ssd_check(t, y, heads, chunk):
    ref = ssd_reference(t, heads, chunk)
    got = y[0][:, torch.tensor(heads, device="cuda")].double()
    err = (got - ref).abs()
    scale = ref.abs().max().item()
    L = ref.shape[0]
    blocks = [err[i:i + 16384].max().item() / scale for i in range(0, L, 16384)]
    out = {"check_heads": ",".join(map(str, heads)), "max_abs_err_rel": err.max().item() / scale,
           "max_abs_err_rel_per_16k_tokens": ",".join(f"{b:.2e}" for b in blocks)}
    print("  correctness:", out, flush=True)
    return out


# ---------------------------------------------------------------- decode state updates (Triton)
def step_inputs_mamba2(Bsz, H, P, N, g):
    return dict(state=torch.randn(Bsz, H, P, N, device="cuda", generator=g),
                x=randn(Bsz, H, P, g=g), dt=randn(Bsz, H, g=g, shift=-4.0).unsqueeze(-1).expand(Bsz, H, P),
                A=realistic_A((H,), g)[:, None, None].expand(H, P, N),
                B=randn(Bsz, 1, N, g=g, scale=N ** -0.5), C=randn(Bsz, 1, N, g=g, scale=N ** -0.5),
                D=torch.randn(H, device="cuda", generator=g)[:, None].expand(H, P), z=randn(Bsz, H, P, g=g),
                dt_bias=dt_bias(H, g)[:, None].expand(H, P))


def step_inputs_mamba1(Bsz, D, N, g):
    return dict(state=torch.randn(Bsz, D, N, device="cuda", generator=g), x=randn(Bsz, D, g=g),
                dt=randn(Bsz, D, g=g, shift=-4.0), A=realistic_A((D, N), g), B=randn(Bsz, N, g=g, scale=N ** -0.5),
                C=randn(Bsz, N, g=g, scale=N ** -0.5), D=torch.randn(D, device="cuda", generator=g),
                z=randn(Bsz, D, g=g), dt_bias=dt_bias(D, g))


def step(res, ssu, op, name_shape, t, state_bytes, iters):
    fn = lambda: ssu(t["state"], t["x"], t["dt"], t["A"], t["B"], t["C"], D=t["D"], z=t["z"], dt_bias=t["dt_bias"],
                     dt_softplus=True)
    eager = time_cuda(fn, iters, cold=True)
    eager_loop = time_loop(fn)
    replay = graphed(fn)
    graph = time_cuda(replay, iters, cold=True)
    graph_hot = time_cuda(replay, iters, cold=False)
    graph_loop = time_loop(replay)
    # state read + write dominate the bytes; the floor uses 2 x state bytes
    res.add(f"{op}/mamba_ssm-triton/{name_shape}", graph, iters, eager_us=round(eager * 1e3, 3),
            eager_loop_us=round(eager_loop * 1e3, 3), graph_hot_us=round(graph_hot * 1e3, 3),
            graph_loop_us=round(graph_loop * 1e3, 3), bytes_per_second=2 * state_bytes / (graph * 1e-3),
            timed="CUDA graph replay, L2 flushed")


def mamba2_step(res, ssu, Bsz, H, P, N, iters):
    t = step_inputs_mamba2(Bsz, H, P, N, gen(3))
    step(res, ssu, "mamba2_step", shape(B=Bsz, H=H, P=P, N=N), t, t["state"].numel() * 4, iters)


def mamba1_step(res, ssu, Bsz, D, N, iters):
    t = step_inputs_mamba1(Bsz, D, N, gen(4))
    step(res, ssu, "mamba1_step", shape(B=Bsz, D=D, N=N), t, t["state"].numel() * 4, iters)
