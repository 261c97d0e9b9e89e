// tests/parity: runs the parity suite (backends/parity/parity.h).
//   - Coverage: every contract of core/contracts/registry.h has at least one case, and every
//     case id is unique (house style P8: a new contract fails here until cases.cpp has it).
//   - cpu, f32: the CPU backend with its best GEMM against the naive reference. Every case
//     passes and none is "not supported": the CPU backend implements every contract.
//   - cpu, bf16: the CPU backend stores f32 only, so bf16 cases report not_supported (never a
//     failure); `copy`, the one contract that converts dtypes, passes.
//   - cuda: the whole suite when this is a CUDA build with a device; otherwise the reason is
//     printed and the case passes.
// Failures print the case's row (seed and one-line repro included).
#include <set>
#include <string>

#include <doctest/doctest.h>

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

TEST_CASE("parity: a deliberately wrong threshold-free comparison is caught (harness self-check)") {
  // The same suite seed gives the same inputs: two runs of one case agree bit for bit.
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
  const Summary s = run(*cuda, o);
  MESSAGE(cuda->name() << ": " << s.passed << " passed, " << s.failed << " failed, " << s.not_supported
                       << " not supported, " << s.skipped << " skipped");
  CHECK(s.failed == 0);
}
