// tests/parity: runs the parity suite (backends/parity/parity.h).
//   - Coverage: every contract of core/contracts/registry.h has at least one case, and every
//     case id is unique (house style P8: a new contract fails here until cases.cpp has it).
//   - cpu, f32: the CPU backend with its best GEMM against the naive reference. Every case
//     passes and none is "not supported": the CPU backend implements every contract.
//   - cpu, bf16: the CPU backend stores f32 only, so bf16 cases report not_supported (never a
//     failure); `copy`, the one contract that converts dtypes, passes.
//   - The harness itself: seeds replay, and a backend with planted bugs fails the right way.
//   - cuda: the whole suite when this is a CUDA build with a device, with no failure and no
//     "not supported" (CUDA implements every contract in f32 and bf16; coverage may not
//     shrink); otherwise the reason is printed and the case passes.
// Failures print the case's row (seed and one-line repro included).
#include <algorithm>
#include <set>
#include <string>

#include <doctest/doctest.h>

#include "backends/cpu/cpu_backend.h"
#include "backends/parity/parity.h"
#include "core/contracts/registry.h"

using namespace braid;
using namespace braid::parity;

namespace {

Summary run(Backend& be, const Options& o, std::vector<CaseResult>* keep = nullptr) {
  return run_suite(be, o, [&](const CaseResult& r) {
    if (r.outcome == Outcome::fail) FAIL_CHECK(table_row(r));
    if (keep) keep->push_back(r);
  });
}

}  // namespace

TEST_CASE("parity: every registered contract has a case, and case ids are unique") {
  CHECK(uncovered_contracts().empty());
  for (const std::string& c : uncovered_contracts()) MESSAGE("no parity case for contract " << c);
  std::set<std::string> ids;
  std::set<std::string> contracts;
  for (const CaseInfo& c : list_cases()) {
    INFO(c.contract << "/" << c.slug);
    CHECK(ids.insert(c.contract + "/" + c.slug).second);
    contracts.insert(c.contract);
  }
  for (std::string_view name : kContractNames) CHECK(contracts.count(std::string(name)) == 1);
  for (const char* decode : {"decode:conv1d", "decode:mamba1", "decode:mamba2", "decode:attention"})
    CHECK(contracts.count(decode) == 1);
}

TEST_CASE("parity: cpu (best GEMM) against the naive reference, f32") {
  std::string why;
  auto cpu = make_target("cpu", why);
  REQUIRE(cpu);
  Options o;
  o.dtypes = {DType::f32};
  std::vector<CaseResult> results;
  const Summary s = run(*cpu, o, &results);
  MESSAGE("cpu f32: " << s.passed << " passed, " << s.failed << " failed, " << s.not_supported << " not supported, "
                      << s.skipped << " skipped (large)");
  CHECK(s.failed == 0);
  CHECK(s.not_supported == 0);
  for (const CaseResult& r : results)
    if (r.outcome == Outcome::not_supported) MESSAGE(r.contract << "/" << r.slug << ": " << r.message);
  // Every contract has at least one case that actually ran (not only skipped large ones).
  std::set<std::string> ran;
  for (const CaseResult& r : results)
    if (r.outcome == Outcome::ok) ran.insert(r.contract);
  for (std::string_view name : kContractNames) {
    INFO("contract " << name);
    CHECK(ran.count(std::string(name)) == 1);
  }
}

TEST_CASE("parity: cpu bf16 is reported as not supported, never as a failure") {
  std::string why;
  auto cpu = make_target("cpu", why);
  REQUIRE(cpu);
  Options o;
  o.dtypes = {DType::bf16};
  std::vector<CaseResult> results;
  const Summary s = run(*cpu, o, &results);
  CHECK(s.failed == 0);
  CHECK(s.not_supported > 0);
  for (const CaseResult& r : results) {
    INFO(r.contract << "/" << r.slug << ": " << r.message);
    if (r.contract == "copy") CHECK(r.outcome == Outcome::ok);
    if (r.outcome == Outcome::not_supported) CHECK(r.message.find("f32") != std::string::npos);
  }
}

TEST_CASE("parity: a case replays bit for bit from its seed, and prints its repro line") {
  std::string why;
  auto cpu = make_target("cpu", why);
  REQUIRE(cpu);
  Options o;
  o.dtypes = {DType::f32};
  o.ops = {"mamba2_ssd"};
  o.case_slug = "odd_g2_varlen";
  std::vector<CaseResult> a, b;
  run(*cpu, o, &a);
  run(*cpu, o, &b);
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  CHECK(a[0].case_seed == b[0].case_seed);
  REQUIRE(a[0].worst() != nullptr);
  CHECK(a[0].worst()->nmse == b[0].worst()->nmse);
  CHECK(a[0].repro == "braid parity --backend cpu --op mamba2_ssd --dtype f32 --seed 1234 --case odd_g2_varlen");
  o.seed = 99;
  std::vector<CaseResult> c;
  run(*cpu, o, &c);
  REQUIRE(c.size() == 1);
  CHECK(c[0].case_seed != a[0].case_seed);
}

namespace {

// A backend with one planted bug per contract, to prove the harness sees each kind of fault:
// a write past the end of an output, one wrong element, an unwritten element, a write into an
// input, and a refusal. Everything else is the CPU backend.
class FaultyBackend final : public Backend {
 public:
  std::string name() const override { return "faulty"; }
  Device device() const override { return Device::cpu; }
  void* raw_alloc(size_t bytes) override { return cpu_.raw_alloc(bytes); }
  void raw_free(void* p) override { cpu_.raw_free(p); }
  void upload(void* d, const void* s, size_t n) override { cpu_.upload(d, s, n); }
  void download(void* d, const void* s, size_t n) override { cpu_.download(d, s, n); }
  void fill_zero(const TensorView& t) override { cpu_.fill_zero(t); }

  Status add(const AddArgs& a) override {  // one element past the end of `out`
    BRAID_RETURN_IF_ERROR(cpu_.add(a));
    a.out.ptr<float>()[a.out.numel()] = 1.0f;
    return Status::ok();
  }
  Status rmsnorm(const RmsNormArgs& a) override {  // the last element off by 0.5
    BRAID_RETURN_IF_ERROR(cpu_.rmsnorm(a));
    a.out.ptr<float>()[a.out.numel() - 1] += 0.5f;
    return Status::ok();
  }
  Status linear(const LinearArgs& a) override {  // leaves y[0, …, 0] unwritten (NaN-prefilled)
    const float keep = a.y.ptr<float>()[0];
    BRAID_RETURN_IF_ERROR(cpu_.linear(a));
    a.y.ptr<float>()[0] = keep;
    return Status::ok();
  }
  Status conv1d(const Conv1dArgs& a) override {  // scribbles on its input after computing
    BRAID_RETURN_IF_ERROR(cpu_.conv1d(a));
    a.x.ptr<float>()[0] += 1.0f;
    return Status::ok();
  }
  // rotary stays at the base class's not_supported.

 private:
  CpuBackend cpu_;
};

}  // namespace

TEST_CASE("parity: the harness catches guard overwrites, wrong and unwritten elements, input writes, refusals") {
  FaultyBackend faulty;
  Options o;
  o.backend = "faulty";
  o.dtypes = {DType::f32};
  o.ops = {"add", "rmsnorm", "linear", "conv1d", "rotary"};
  std::vector<CaseResult> results;
  run_suite(faulty, o, [&](const CaseResult& r) { results.push_back(r); });
  REQUIRE(!results.empty());
  for (const CaseResult& r : results) {
    INFO(table_row(r));
    if (r.outcome == Outcome::skipped) continue;  // large cases
    if (r.contract == "rotary") {
      CHECK(r.outcome == Outcome::not_supported);
      continue;
    }
    CHECK(r.outcome == Outcome::fail);
    CHECK(r.repro.find("--case " + r.slug) != std::string::npos);
    std::string all = r.message;
    for (const TensorReport& t : r.tensors) all += "\n" + t.problem;
    if (r.contract == "add") {
      CHECK(!r.guard_ok);
      CHECK(all.find("guard overwritten after") != std::string::npos);
    } else if (r.contract == "rmsnorm") {
      const TensorReport* w = r.worst();
      REQUIRE(w != nullptr);
      CHECK(w->max_abs == doctest::Approx(0.5).epsilon(1e-3));
      CHECK(!w->worst.empty());  // located as a multi-index (the last element)
      CHECK(all.find("> ") != std::string::npos);
    } else if (r.contract == "linear") {
      CHECK(all.find("y: NaN at [0, 0") != std::string::npos);
    } else if (r.contract == "conv1d") {
      CHECK(all.find("input x modified at") != std::string::npos);
    }
  }
}

TEST_CASE("parity: cuda") {
  std::string why;
  auto cuda = make_target("cuda", why);
  if (!cuda) {
    MESSAGE("skipping the CUDA parity run: " << why);
    return;
  }
  Options o;
  o.backend = "cuda";
  std::vector<CaseResult> results;
  const Summary s = run(*cuda, o, &results);
  MESSAGE(cuda->name() << ": " << s.passed << " passed, " << s.failed << " failed, " << s.not_supported
                       << " not supported, " << s.skipped << " skipped");
  CHECK(s.failed == 0);
  // Coverage may not shrink (house style P3): the CUDA backend runs every case of the suite,
  // forward and gradient mode, in f32 and bf16 storage.
  for (const CaseResult& r : results) {
    if (r.outcome != Outcome::not_supported) continue;
    FAIL_CHECK("cuda dropped coverage: " << r.contract << "/" << r.slug << " " << dtype_name(r.dtype) << ": " << r.message);
  }
}
