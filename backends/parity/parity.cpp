// backends/parity/parity.cpp — the suite runner: the backend under test, selection of cases,
// one contract case against the reference, seeds, and the JSONL / table output.
#include "backends/parity/parity.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <exception>
#include <set>

#include <nlohmann/json.hpp>

#include "backends/cpu/cpu_backend.h"
#include "backends/parity/harness.h"
#include "core/contracts/registry.h"
#ifdef BRAID_HAVE_CUDA
#include "backends/cuda/cuda_backend.h"
#endif

namespace braid::parity {

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::ok: return "ok";
    case Outcome::fail: return "FAIL";
    case Outcome::not_supported: return "not_supported";
    case Outcome::skipped: return "skipped";
  }
  return "?";
}

const TensorReport* CaseResult::worst() const {
  const TensorReport* w = nullptr;
  double worst_ratio = -1.0;
  for (const TensorReport& t : tensors) {
    if (t.name == "guard" || t.name == "input") continue;
    // Ratio to the limit; an exact limit (0) ranks any error first.
    const double ratio = std::isnan(t.nmse)  ? 1e300
                         : t.nmse_limit > 0  ? t.nmse / t.nmse_limit
                         : t.nmse > 0        ? 1e300
                                             : 0.0;
    const double rank = (t.problem.empty() ? 0.0 : 1e301) + ratio;
    if (rank > worst_ratio) {
      worst_ratio = rank;
      w = &t;
    }
  }
  return w;
}

void Summary::add(const CaseResult& r) {
  switch (r.outcome) {
    case Outcome::ok: ++passed; break;
    case Outcome::fail: ++failed; break;
    case Outcome::not_supported: ++not_supported; break;
    case Outcome::skipped: ++skipped; break;
  }
}

// ---- The backend under test ----------------------------------------------------------------

std::unique_ptr<Backend> make_target(const std::string& name, std::string& why) {
  why.clear();
  // Best GEMM (oneDNN, else Eigen); "cpu" adds the named fast paths (backends/cpu/fast/).
  if (name == "cpu" || name == "cpu-ref") {
    CpuOptions opts;
    opts.fast_paths = name == "cpu";
    return std::make_unique<CpuBackend>(opts);
  }
  const bool cuda = name == "cuda" || name.rfind("cuda:", 0) == 0;
  if (!cuda) {
    why = "unknown backend '" + name + "' (expected cpu, cpu-ref, cuda or cuda:N)";
    return nullptr;
  }
#ifdef BRAID_HAVE_CUDA
  CudaOptions opts;
  if (name.size() > 5) {
    char* end = nullptr;
    const long dev = std::strtol(name.c_str() + 5, &end, 10);
    if (*end != '\0' || dev < 0) {
      why = "unknown backend '" + name + "' (expected cuda or cuda:N)";
      return nullptr;
    }
    opts.device = static_cast<int>(dev);
  }
  if (const std::string reason = cuda_unavailable_reason(); !reason.empty()) {
    why = "cuda: not available (" + reason + ")";
    return nullptr;
  }
  if (opts.device >= cuda_device_count()) {
    why = "cuda: not available (device " + std::to_string(opts.device) + " requested, " +
          std::to_string(cuda_device_count()) + " present)";
    return nullptr;
  }
  try {
    return std::make_unique<CudaBackend>(opts);
  } catch (const std::exception& e) {
    why = std::string("cuda: not available (") + e.what() + ")";
    return nullptr;
  }
#else
  why = "cuda: not available (this build has no CUDA backend; configure with -Dcuda=enabled where nvcc is installed)";
  return nullptr;
#endif
}

// ---- Listing ---------------------------------------------------------------------------------

std::vector<CaseInfo> list_cases() {
  std::vector<CaseInfo> out;
  for (const CaseDef& c : contract_cases()) out.push_back({c.contract, c.slug, c.label, c.large});
  for (const DecodeDef& d : decode_cases()) out.push_back({d.contract, d.slug, d.label, d.large});
  return out;
}

std::vector<std::string> known_ops() {
  std::vector<std::string> ops(kContractNames.begin(), kContractNames.end());
  for (const DecodeDef& d : decode_cases())
    if (std::find(ops.begin(), ops.end(), d.contract) == ops.end()) ops.push_back(d.contract);
  return ops;
}

std::vector<std::string> uncovered_contracts() {
  std::set<std::string> covered;
  for (const CaseDef& c : contract_cases()) covered.insert(c.contract);
  std::vector<std::string> out;
  for (std::string_view n : kContractNames)
    if (!covered.count(std::string(n))) out.emplace_back(n);
  return out;
}

// ---- Running ---------------------------------------------------------------------------------

namespace {

// FNV-1a of the case id, mixed into the suite seed (splitmix64 finaliser): every case draws
// from its own stream, independent of which other cases run.
uint64_t case_seed_of(uint64_t seed, const std::string& contract, const std::string& slug) {
  uint64_t h = 1469598103934665603ull;
  for (const char ch : contract + "/" + slug) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
  uint64_t z = seed ^ h;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string repro_line(const Options& o, const std::string& contract, const std::string& slug, DType dtype, bool large,
                       bool cpu) {
  std::string s = "braid parity --backend " + o.backend + " --op " + contract + " --dtype " + dtype_name(dtype) +
                  " --seed " + std::to_string(o.seed) + " --case " + slug;
  if (large && cpu) s += " --full";
  return s;
}

void run_contract_case(Backend& target, Backend& ref, const CaseDef& def, DType dtype, CaseResult& r) {
  Rng rng(r.case_seed);
  Problem p = def.make(rng);
  if (dtype == DType::bf16) round_act_inputs(p);
  const CallResult got = call(target, p, dtype);
  if (got.status.code() == StatusCode::not_supported) {
    r.outcome = Outcome::not_supported;
    r.message = got.status.message();
    return;
  }
  if (!got.status.is_ok()) {
    r.outcome = Outcome::fail;
    r.message = std::string(status_code_name(got.status.code())) + ": " + got.status.message();
    return;
  }
  const CallResult want = call(ref, p, DType::f32);
  if (!want.status.is_ok()) {
    r.outcome = Outcome::fail;
    r.message = "reference: " + std::string(status_code_name(want.status.code())) + ": " + want.status.message();
    return;
  }
  add_problems(r, got.problems);
  for (const std::string& pr : want.problems) add_problems(r, {"reference: " + pr});
  const Threshold th = threshold_for(def.contract, dtype);
  for (const TensorSpec& t : p.tensors) {
    if (!t.is_output()) continue;
    const std::vector<float>& a = got.outputs.at(t.name);
    const std::vector<float>& b = want.outputs.at(t.name);
    r.tensors.push_back(t.is_float() ? compare(t.name, a, b, t.shape, th, storage_dtype(t, dtype))
                                     : compare_exact_ids(t.name, a, b, t.shape));
  }
  settle(r);
}

bool selected(const Options& o, const std::string& contract, const std::string& slug) {
  if (!o.ops.empty() && std::find(o.ops.begin(), o.ops.end(), contract) == o.ops.end()) return false;
  return o.case_slug.empty() || o.case_slug == slug;
}

}  // namespace

Summary run_suite(Backend& target, const Options& opts, const std::function<void(const CaseResult&)>& on_result) {
  Summary sum;
  CpuBackend ref(CpuOptions{GemmImpl::naive});
  const bool cpu = target.device() == Device::cpu;
  const std::vector<CaseDef> cases = contract_cases();
  const std::vector<DecodeDef> decodes = decode_cases();

  auto emit = [&](CaseResult& r) {
    sum.add(r);
    on_result(r);
  };
  auto start = [&](const std::string& contract, const std::string& slug, const std::string& label, DType dtype,
                   bool large) {
    CaseResult r;
    r.backend = target.name();
    r.contract = contract;
    r.slug = slug;
    r.label = label;
    r.dtype = dtype;
    r.seed = opts.seed;
    r.case_seed = case_seed_of(opts.seed, contract, slug);
    r.repro = repro_line(opts, contract, slug, dtype, large, cpu);
    return r;
  };
  auto skip_large = [&](CaseResult& r, bool large) {
    if (!(large && cpu && !opts.full)) return false;
    r.outcome = Outcome::skipped;
    r.message = "large case: the naive CPU reference needs seconds; run with --full";
    return true;
  };

  // A registered contract without a case is a coverage failure (house style P8).
  for (const std::string& name : uncovered_contracts()) {
    if (!selected(opts, name, "")) continue;
    CaseResult r = start(name, "-", name + " (no case)", DType::f32, false);
    r.outcome = Outcome::fail;
    r.message = "contract " + name + " has no parity case: add one to backends/parity/cases.cpp";
    emit(r);
  }

  for (const DType dtype : opts.dtypes) {
    for (const CaseDef& c : cases) {
      if (!selected(opts, c.contract, c.slug)) continue;
      CaseResult r = start(c.contract, c.slug, c.label, dtype, c.large);
      if (!skip_large(r, c.large)) {
        try {
          run_contract_case(target, ref, c, dtype, r);
        } catch (const std::exception& e) {
          r.outcome = Outcome::fail;
          r.message = std::string("threw: ") + e.what();
        }
      }
      emit(r);
    }
    for (const DecodeDef& d : decodes) {
      if (!selected(opts, d.contract, d.slug)) continue;
      CaseResult r = start(d.contract, d.slug, d.label, dtype, d.large);
      if (!skip_large(r, d.large)) {
        try {
          Rng rng(r.case_seed);
          d.check(target, dtype, rng, r);
        } catch (const std::exception& e) {
          r.outcome = Outcome::fail;
          r.message = std::string("threw: ") + e.what();
        }
      }
      emit(r);
    }
  }
  return sum;
}

// ---- Output ----------------------------------------------------------------------------------

namespace {

std::string sci(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return "inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2e", v);
  return buf;
}

std::string index_string(const std::vector<int64_t>& idx) {
  std::string s = "[";
  for (size_t i = 0; i < idx.size(); ++i) s += (i ? "," : "") + std::to_string(idx[i]);
  return s + "]";
}

}  // namespace

std::string to_json_line(const CaseResult& r) {
  using json = nlohmann::ordered_json;  // keys in the order written here
  json j = {{"backend", r.backend},
            {"contract", r.contract},
            {"case", r.slug},
            {"shape", r.label},
            {"dtype", dtype_name(r.dtype)},
            {"status", outcome_name(r.outcome)},
            {"seed", r.seed},
            {"case_seed", r.case_seed}};
  if (!r.message.empty()) j["message"] = r.message;
  bool nan = false, inf = false;
  json outs = json::array();
  for (const TensorReport& t : r.tensors) {
    nan = nan || t.nan;
    inf = inf || t.inf;
    json o = {{"tensor", t.name}, {"nmse", t.nmse}, {"max_abs", t.max_abs}, {"nmse_limit", t.nmse_limit},
              {"max_abs_limit", t.max_abs_limit}, {"worst_index", t.worst}, {"nan", t.nan}, {"inf", t.inf}};
    if (!t.worst.empty()) {
      o["got"] = t.got;
      o["want"] = t.want;
    }
    if (!t.problem.empty()) o["problem"] = t.problem;
    outs.push_back(std::move(o));
  }
  if (const TensorReport* w = r.worst()) {
    j["nmse"] = w->nmse;
    j["max_abs"] = w->max_abs;
    j["worst"] = {{"tensor", w->name}, {"index", w->worst}};
  }
  j["nan"] = nan;
  j["inf"] = inf;
  j["guard_ok"] = r.guard_ok;
  if (!outs.empty()) j["outputs"] = std::move(outs);
  if (r.outcome == Outcome::fail) j["repro"] = r.repro;
  return j.dump();
}

std::string summary_json_line(const Summary& s) {
  // Written out so that the line reads exactly as documented: {"summary": {"passed": n, ...}}.
  char buf[160];
  std::snprintf(buf, sizeof buf, "{\"summary\": {\"passed\": %d, \"failed\": %d, \"not_supported\": %d, \"skipped\": %d}}",
                s.passed, s.failed, s.not_supported, s.skipped);
  return buf;
}

std::string table_header() {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-13s %-5s %-36s %-9s %-9s %-26s %s", "status", "dtype", "contract/case", "nmse",
                "max_abs", "worst", "shape");
  return buf;
}

std::string table_row(const CaseResult& r) {
  const std::string id = r.contract + "/" + r.slug;
  std::string nmse = "-", max_abs = "-", worst = "-";
  if (const TensorReport* w = r.worst(); w && (r.outcome == Outcome::ok || r.outcome == Outcome::fail)) {
    nmse = sci(w->nmse);
    max_abs = sci(w->max_abs);
    if (!w->worst.empty()) worst = w->name + index_string(w->worst);
  }
  char buf[1024];
  std::snprintf(buf, sizeof buf, "%-13s %-5s %-36s %-9s %-9s %-26s %s", outcome_name(r.outcome), dtype_name(r.dtype),
                id.c_str(), nmse.c_str(), max_abs.c_str(), worst.c_str(), r.label.c_str());
  std::string s = buf;
  if (r.outcome == Outcome::not_supported || r.outcome == Outcome::skipped) s += "\n    " + r.message;
  if (r.outcome == Outcome::fail) {
    s += "\n    " + r.message;
    for (const TensorReport& t : r.tensors)
      if (!t.problem.empty() && t.problem != r.message) s += "\n    " + t.problem;
    char seed[128];
    std::snprintf(seed, sizeof seed, "\n    seed %" PRIu64 " (case seed %" PRIu64 ")", r.seed, r.case_seed);
    s += seed;
    s += "\n    repro: " + r.repro;
  }
  return s;
}

}  // namespace braid::parity
