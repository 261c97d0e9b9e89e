// braid parity [--backend cuda] [--op NAME] [--dtype f32|bf16] [--seed S] [--case ID] [--json]
//              [--full] [--list]
// Runs the parity suite (backends/parity/parity.h): every contract × the annotated shape list ×
// each dtype on the backend under test against the naive CPU reference, plus the decode checks.
// Human mode prints a table and a summary; --json prints one JSON object per case (JSONL) and a
// final {"summary": {...}} line. Exit status: 0 when nothing failed, 1 when a case failed, 2
// when the request cannot be run at all (backend not available, unknown --op or --dtype).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include "backends/parity/parity.h"
#include "models/cli/cli.h"

namespace braid::cli {
namespace {

struct ParityOptions {
  std::string backend = "cpu";
  std::vector<std::string> ops;
  std::string dtype;  // empty: f32 and bf16
  std::string case_slug;
  uint64_t seed = parity::kDefaultSeed;
  bool json = false, full = false, list = false;
};

// A request that cannot run: one line on stderr, exit status 2.
[[noreturn]] void refuse(const std::string& msg) {
  std::fprintf(stderr, "%s\n", msg.c_str());
  throw CLI::RuntimeError(2);
}

void run_parity(const ParityOptions& o) {
  if (o.list) {
    for (const parity::CaseInfo& c : parity::list_cases())
      std::printf("%-40s %s%s\n", (c.contract + "/" + c.slug).c_str(), c.label.c_str(), c.large ? "  (large)" : "");
    return;
  }
  parity::Options po;
  po.backend = o.backend;
  po.seed = o.seed;
  po.case_slug = o.case_slug;
  po.full = o.full;
  const std::vector<std::string> known = parity::known_ops();
  for (const std::string& op : o.ops) {
    if (std::find(known.begin(), known.end(), op) == known.end()) {
      std::string all;
      for (const std::string& k : known) all += (all.empty() ? "" : ", ") + k;
      refuse("parity: unknown --op " + op + " (known: " + all + ")");
    }
    po.ops.push_back(op);
  }
  if (!o.dtype.empty()) {
    if (o.dtype == "f32") po.dtypes = {DType::f32};
    else if (o.dtype == "bf16") po.dtypes = {DType::bf16};
    else refuse("parity: --dtype " + o.dtype + ": expected f32 or bf16");
  }

  std::string why;
  std::unique_ptr<Backend> target = parity::make_target(o.backend, why);
  if (!target) refuse(why);

  if (!o.json) {
    std::printf("parity: %s against the cpu reference (naive GEMM, f32), seed %llu\n", target->name().c_str(),
                static_cast<unsigned long long>(o.seed));
    std::printf("%s\n", parity::table_header().c_str());
  }
  const parity::Summary s = parity::run_suite(*target, po, [&](const parity::CaseResult& r) {
    std::printf("%s\n", o.json ? parity::to_json_line(r).c_str() : parity::table_row(r).c_str());
    std::fflush(stdout);
  });
  if (o.json) std::printf("%s\n", parity::summary_json_line(s).c_str());
  else
    std::printf("\nsummary: %d passed, %d failed, %d not supported, %d skipped\n", s.passed, s.failed, s.not_supported,
                s.skipped);
  std::fflush(stdout);
  if (s.failed > 0) throw CLI::RuntimeError(1);
}

}  // namespace

void add_parity(CLI::App& app) {
  auto opts = std::make_shared<ParityOptions>();
  CLI::App* sub = app.add_subcommand("parity", "check a backend against the CPU reference, contract by contract");
  sub->add_option("-b,--backend", opts->backend, "backend under test: cpu (fast paths + best GEMM), cpu-ref (best GEMM) or cuda / cuda:N");
  sub->add_option("-o,--op", opts->ops, "contract to run (repeat or comma-separate; decode checks: decode:<name>)")
      ->delimiter(',');
  sub->add_option("--dtype", opts->dtype, "f32 or bf16 (default: both)");
  sub->add_option("-s,--seed", opts->seed, "suite seed; each case derives its own from it");
  sub->add_option("--case", opts->case_slug, "only the case with this id (see --list)");
  sub->add_flag("--json", opts->json, "one JSON object per case, then a summary line");
  sub->add_flag("--full", opts->full, "also run the large cases on the CPU");
  sub->add_flag("--list", opts->list, "list the cases and exit");
  sub->callback([opts] { run_parity(*opts); });
}

}  // namespace braid::cli
