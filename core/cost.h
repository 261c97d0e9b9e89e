// Analytic cost of one contract call, and the hardware floor it implies.
//
// Every contract in BRAID_FOR_EACH_CONTRACT has a `cost` function beside its validator
// (core/contracts/cost.cpp). It counts, from the Args' shapes and dtypes alone:
//   bytes      the unavoidable memory traffic: every input read once, every output written once,
//              an in/out state read and written (docs: kernels.md §9.2);
//   flops      FLOPs on the vector/SIMT units (scans, elementwise work, softmax);
//   mma_flops  FLOPs a matrix unit can take (GEMMs, the SSD's chunk products, attention's QKᵀ/PV);
//   exps       exponentials (one ex2 per state update in the Mamba1 scan, one per score in attention).
// The floor is the largest of the four times on a given machine; `bound` names the binding term.
#pragma once

namespace braid {

struct Cost {
  double bytes = 0;
  double flops = 0;
  double mma_flops = 0;
  double exps = 0;

  Cost& operator+=(const Cost& o) {
    bytes += o.bytes, flops += o.flops, mma_flops += o.mma_flops, exps += o.exps;
    return *this;
  }
};

// Peak rates of one machine. On a CPU `mma_flops` is the same FMA peak as `flops`, and
// `exps` counts a vector exponential as the lane-operations it costs (see hardware.cpp).
struct Hardware {
  const char* name;
  double bytes_per_s;
  double flops_per_s;
  double mma_flops_per_s;
  double exps_per_s;
};

// One H100 80GB SXM (HBM3), measured figures of kernels.md §9.1: HBM 3.0 TB/s (device-to-
// device copy), fp32 FMA 55.4 TFLOP/s (spec 66.9), bf16 dense MMA 798 TFLOP/s (spec 989), MUFU ex2
// 4.12e12/s.
Hardware h100_sxm();
// The 2-core Zen 5 (AVX-512) development machine, kernels.md §9.3: 330 GFLOP/s fp32 FMA on two
// threads, 41 GB/s copy bandwidth, a 16-lane vector exp at ≈12 lane-operations per element.
Hardware zen5_2core();

struct Floor {
  double seconds = 0;
  const char* bound = "none";  // "memory", "simt", "mma" or "exp"
};
Floor floor_of(const Cost& c, const Hardware& hw);

}  // namespace braid
