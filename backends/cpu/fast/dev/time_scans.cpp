// backends/cpu/fast/dev/time_scans.cpp — timing of the CPU scan contracts, fast paths vs reference
// (a development tool, not built by meson; the Google Benchmark programs live in bench/).
// Usage: time_scans m1|m2|conv|m1step|m2step fast|ref [B] [runs] [conv D]
// Shapes: Mamba1 L512 D8192 N16 (z, softplus(dt+bias), D); Mamba2 L512 H80 P64 N128 G1 (z, D);
// conv1d L512 K4 (+bias, SiLU). One warm-up call, then `runs` timed calls on the same buffers
// (hot cache); prints the median, min and max wall time and the median process CPU time.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>
#include <ctime>
static double cpu_ms(){ timespec ts; clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&ts); return ts.tv_sec*1e3+ts.tv_nsec*1e-6; }
#include "backends/cpu/cpu_backend.h"
using namespace braid;
struct Buf { std::vector<float> v; TensorView t; Buf(Shape s, float lo, float hi, std::mt19937& g) {
  int64_t n = 1; for (int i = 0; i < s.ndim(); ++i) n *= s[i];
  v.resize(n); std::uniform_real_distribution<float> d(lo, hi); for (auto& x : v) x = d(g);
  t = TensorView(v.data(), DType::f32, s); } };
int main(int argc, char** argv) {
  std::string op = argv[1]; bool fast = std::string(argv[2]) == "fast"; int64_t B = argc > 3 ? atoi(argv[3]) : 1;
  int reps = argc > 4 ? atoi(argv[4]) : 7;
  CpuOptions o; o.fast_paths = fast; CpuBackend be(o);
  std::mt19937 g(1);
  std::vector<double> ms, cms;
  auto timeit = [&](auto f) { (void)f(); for (int r = 0; r < reps; ++r) { auto t0 = std::chrono::steady_clock::now(); double c0 = cpu_ms(); Status s = f(); cms.push_back(cpu_ms() - c0);
      if (!s.is_ok()) { std::printf("error %s\n", s.message().c_str()); exit(1);} 
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()); } };
  if (op == "m1" || op == "m1step") {
    int64_t T = op == "m1" ? 512 : 1, D = 8192, N = 16;
    Buf x({B,T,D},-1,1,g), dt({B,T,D},-3,1,g), bias({D},-1,0,g), A({D,N},-8,-0.5,g), Bm({B,T,N},-1,1,g), Cm({B,T,N},-1,1,g), Dd({D},-1,1,g), z({B,T,D},-2,2,g), st({B,D,N},-1,1,g), y({B,T,D},0,0,g);
    Mamba1ScanArgs a{x.t, dt.t, bias.t, A.t, Bm.t, Cm.t, Dd.t, z.t, op=="m1"?TensorView():st.t, TensorView(), y.t};
    timeit([&]{ return op == "m1" ? run_mamba1_scan(be, a) : run_mamba1_step(be, a); });
  } else if (op == "m2" || op == "m2step") {
    int64_t T = op == "m2" ? 512 : 1, H = 80, P = 64, N = 128, G = 1;
    Buf x({B,T,H,P},-1,1,g), dt({B,T,H},-3,1,g), bias({H},-1,0,g), A({H},-8,-0.5,g), Bm({B,T,G,N},-1,1,g), Cm({B,T,G,N},-1,1,g), Dd({H},-1,1,g), z({B,T,H,P},-2,2,g), st({B,H,P,N},-1,1,g), y({B,T,H,P},0,0,g);
    Mamba2SsdArgs a{x.t, dt.t, bias.t, A.t, Bm.t, Cm.t, Dd.t, z.t, op=="m2"?TensorView():st.t, TensorView(), y.t};
    a.chunk_size = 256;
    timeit([&]{ return op == "m2" ? run_mamba2_ssd(be, a) : run_mamba2_step(be, a); });
  } else if (op == "conv") {
    int64_t T = 512, D = argc > 5 ? atoi(argv[5]) : 8192, K = 4;
    Buf x({B,T,D},-1,1,g), w({D,K},-1,1,g), bias({D},-1,1,g), y({B,T,D},0,0,g);
    Conv1dArgs a{x.t, w.t, bias.t, TensorView(), TensorView(), y.t};
    timeit([&]{ return run_conv1d(be, a); });
  }
  std::sort(ms.begin(), ms.end()); std::sort(cms.begin(), cms.end());
  std::printf("%s %s B%lld: median %.4f ms (min %.4f, max %.4f, n=%zu)\n", op.c_str(), fast ? "fast" : "ref", (long long)B, ms[ms.size()/2], ms[0], ms.back(), ms.size()); std::printf("   cpu-time median %.4f ms (min %.4f)\n", cms[cms.size()/2], cms[0]);
}
