"""Times the peers at braid's benchmark shapes and writes Google-Benchmark-shaped JSON.

  python3 bench/peers/run_peers.py --groups ssd,torch,scan,step --mamba-src DIR --ss-build DIR --out FILE
  python3 bench/peers/run_peers.py --groups hf --config models/configs/jamba-1b-bench.json --out FILE

Groups: ssd (Triton SSD + fp64 check past 64K), scan (Mamba1 CUDA scan), step (decode state updates),
torch (conv1d, SDPA, cuBLAS), hf (HF transformers end to end). Run hf in its own process: the
mamba_ssm stub package must not be visible to transformers.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

from timing import Results  # noqa: E402

KD, KDI, KF, KV, KHQ, KHKV, KP = 1024, 2048, 3584, 32000, 16, 4, 64  # the 1B Jamba-like config


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", default="ssd,torch,scan,step")
    ap.add_argument("--mamba-src")
    ap.add_argument("--mamba-commit", default="")
    ap.add_argument("--ss-build")
    ap.add_argument("--config", default="models/configs/jamba-1b-bench.json")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--long", default="65536,131072", help="B1 SSD lengths checked against fp64")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    groups = a.groups.split(",")
    ctx = {"peers": {}, "groups": a.groups, "command": " ".join(sys.argv)}
    res = Results(a.out, ctx)
    it = a.iters
    if {"ssd", "scan", "step"} & set(groups):
        ctx["peers"]["mamba_ssm"] = {"source": "github.com/state-spaces/mamba", "commit": a.mamba_commit,
                                     "imported_from": "source checkout outside the repository"}
        import mamba_peer as mp
        ssd, ssu = mp.import_mamba(a.mamba_src)
    t0 = time.time()
    if "ssd" in groups:
        mp.mamba2_ssd(res, ssd, 8, 4096, 80, 64, 128, it)
        mp.mamba2_ssd(res, ssd, 8, 4096, 128, 64, 128, it)
        mp.mamba2_ssd(res, ssd, 8, 2048, 80, 64, 128, it)
        for L in map(int, a.long.split(",")):
            mp.mamba2_ssd(res, ssd, 1, L, 80, 64, 128, 20, check_heads=[0, 40, 79])
            torch.cuda.empty_cache()
        print(f"[ssd done {time.time() - t0:.0f} s]", flush=True)
    if "torch" in groups:
        import torch_peer as tp
        ctx["peers"]["torch"] = {"version": torch.__version__, "cudnn": torch.backends.cudnn.version()}
        for D in (8192, 5376):
            tp.conv1d(res, 8, 4096, D, 4, it)
        tp.attention_prefill(res, 1, 2048, KHQ, KHKV, KP, it)
        for B in (1, 8):
            tp.attention_decode(res, B, 2048, KHQ, KHKV, KP, it)
        # in_proj, x_proj, dt_proj, out_proj, q/o, k/v, expert gate/up, expert down, lm_head
        for N, K in ((2 * KDI, KD), (64 + 32, KDI), (KDI, 64), (KD, KDI), (KD, KD), (KHKV * KP, KD), (KF, KD),
                     (KD, KF), (KV, KD)):
            tp.gemm(res, 2048, N, K, it)
        print(f"[torch done {time.time() - t0:.0f} s]", flush=True)
    if "scan" in groups:
        ss = mp.import_selective_scan(a.ss_build)
        if ss is None:
            print("selective_scan_cuda not found in", a.ss_build, flush=True)
        else:
            ctx["peers"]["mamba_ssm"]["selective_scan_cuda"] = "forward-only build, sm_90, nvcc -O3 --use_fast_math"
            for B in (8, 1):
                for L in (512, 2048, 4096):
                    mp.mamba1_scan(res, ss, B, L, 8192, 16, it)
        print(f"[scan done {time.time() - t0:.0f} s]", flush=True)
    if "step" in groups:
        for B in (1, 8, 64, 256):
            mp.mamba2_step(res, ssu, B, 80, 64, 128, 100)
        for B in (1, 8, 64, 256):
            mp.mamba1_step(res, ssu, B, 8192, 16, 100)
        print(f"[step done {time.time() - t0:.0f} s]", flush=True)
    if "hf" in groups:
        import hf_peer
        hf_peer.e2e(res, a.config, "jamba-1b-bench")
        print(f"[hf done {time.time() - t0:.0f} s]", flush=True)
    res.write()


if __name__ == "__main__":
    main()
