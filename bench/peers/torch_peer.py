"""PyTorch peers: depthwise causal conv1d (F.conv1d, groups=D), SDPA attention, and cuBLAS bf16 matmul."""
import torch
import torch.nn.functional as F

from timing import graphed, shape, time_cuda, time_loop


def conv1d(res, B, L, D, K, iters):
    """causal depthwise conv1d + bias + SiLU on (B, D, L) bf16: the compile-free baseline."""
    g = torch.Generator(device="cuda").manual_seed(5)
    x = torch.randn(B, D, L, device="cuda", generator=g).bfloat16()
    w = (torch.randn(D, 1, K, device="cuda", generator=g) * K ** -0.5).bfloat16()
    b = torch.randn(D, device="cuda", generator=g).bfloat16()
    fn = lambda: F.silu(F.conv1d(x, w, b, padding=K - 1, groups=D)[..., :L])
    with torch.no_grad():
        cold, hot = time_cuda(fn, iters), time_cuda(fn, iters, cold=False)
    res.add(f"conv1d/torch-conv1d/{shape(B=B, L=L, D=D, K=K)}", cold, iters, hot_us=round(hot * 1e3, 3),
            bytes_per_second=2 * B * L * D * 2 / (cold * 1e-3), what="F.silu(F.conv1d(groups=D, padding=K-1)[..., :L])")


def attention_prefill(res, B, L, Hq, Hkv, P, iters):
    g = torch.Generator(device="cuda").manual_seed(6)
    q = torch.randn(B, Hq, L, P, device="cuda", generator=g).bfloat16()
    k = torch.randn(B, Hkv, L, P, device="cuda", generator=g).bfloat16()
    v = torch.randn(B, Hkv, L, P, device="cuda", generator=g).bfloat16()
    fn = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    with torch.no_grad():
        cold, hot = time_cuda(fn, iters), time_cuda(fn, iters, cold=False)
    flops = 4 * B * Hq * L * L * P / 2  # causal: half of QK^T and PV
    res.add(f"attention_prefill/torch-sdpa/{shape(B=B, L=L, Hq=Hq, Hkv=Hkv, P=P)}", cold, iters,
            hot_us=round(hot * 1e3, 3), flops_per_second=flops / (cold * 1e-3), causal=1)


def attention_decode(res, B, S, Hq, Hkv, P, iters):
    g = torch.Generator(device="cuda").manual_seed(7)
    q = torch.randn(B, Hq, 1, P, device="cuda", generator=g).bfloat16()
    k = torch.randn(B, Hkv, S, P, device="cuda", generator=g).bfloat16()
    v = torch.randn(B, Hkv, S, P, device="cuda", generator=g).bfloat16()
    fn = lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    with torch.no_grad():
        eager, eager_loop = time_cuda(fn, iters), time_loop(fn)
        replay = graphed(fn)
        graph, graph_hot = time_cuda(replay, iters), time_cuda(replay, iters, cold=False)
    kv_bytes = 2 * B * Hkv * S * P * 2
    res.add(f"attention_decode/torch-sdpa/{shape(B=B, S=S, Hq=Hq, Hkv=Hkv, P=P)}", graph, iters,
            eager_us=round(eager * 1e3, 3), eager_loop_us=round(eager_loop * 1e3, 3), graph_hot_us=round(graph_hot * 1e3, 3),
            bytes_per_second=kv_bytes / (graph * 1e-3), timed="CUDA graph replay, L2 flushed")


def gemm(res, M, N, K, iters):
    """y = x @ W^T, x (M, K), W (N, K), bf16 in and out, as a linear layer."""
    g = torch.Generator(device="cuda").manual_seed(8)
    x = torch.randn(M, K, device="cuda", generator=g).bfloat16()
    w = (torch.randn(N, K, device="cuda", generator=g) * 0.02).bfloat16()
    fn = lambda: torch.matmul(x, w.t())
    with torch.no_grad():
        cold, hot = time_cuda(fn, iters), time_cuda(fn, iters, cold=False)
    res.add(f"gemm/torch-cublas/{shape(M=M, N=N, K=K)}", cold, iters, hot_us=round(hot * 1e3, 3),
            flops_per_second=2 * M * N * K / (cold * 1e-3))
