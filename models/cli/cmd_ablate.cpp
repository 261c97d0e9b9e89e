// braid ablate GRID.json [--scale cpu|gpu] [--backend cpu|cuda] [--seeds N] --out DIR
//              [--keep-checkpoints] [--dry-run] [--commit TEXT]
// Expands an ablation grid (models/ablate/grid.h), prints its arms, and trains / measures
// every arm × seed not yet in OUT/results.jsonl (models/ablate/runner.h). The last stdout
// line is a JSON summary: {"runs", "skipped", "diverged", "does_not_fit", "results"}.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "build_commit.h"
#include "models/ablate/runner.h"
#include "models/cli/backend_choice.h"
#include "models/cli/cli.h"

namespace braid::cli {
namespace {

struct AblateOptions {
  std::string grid, scale, backend = "cpu", out, commit;
  int64_t seeds = 0;
  bool keep_checkpoints = false, dry_run = false;
};

void run_ablate(const AblateOptions& o) {
  if (o.seeds < 0) fail("--seeds must be ≥ 1, got ", o.seeds);
  const Grid grid = load_grid(o.grid, o.scale);
  if (o.dry_run) {
    std::printf("%s", describe_grid(grid).c_str());
    return;
  }
  auto be = make_backend(o.backend);
  AblateContext ctx;
  ctx.out = o.out;
  ctx.seeds = o.seeds;
  ctx.keep_checkpoints = o.keep_checkpoints;
  ctx.commit = o.commit.empty() ? kBuildCommit : o.commit;
  ctx.device = device_description(*be);
  ctx.device_bytes = device_memory_bytes(*be);
  const Backend& backend = *be;
  ctx.dtype_of = [&backend](const std::string& name) { return compute_dtype(name, backend); };
  const AblateSummary s = run_grid(*be, grid, ctx);
  const nlohmann::json summary{{"runs", s.runs},
                               {"skipped", s.skipped},
                               {"diverged", s.diverged},
                               {"does_not_fit", s.not_fitting},
                               {"results", o.out + "/results.jsonl"}};
  std::printf("%s\n", summary.dump().c_str());
}

}  // namespace

void add_ablate(CLI::App& app) {
  auto o = std::make_shared<AblateOptions>();
  CLI::App* sub = app.add_subcommand("ablate", "train and evaluate every arm of an ablation grid (ablations/<name>/grid.json)");
  sub->add_option("grid", o->grid, "ablations/<name>/grid.json")->required();
  sub->add_option("--scale", o->scale, "the grid's scale overlay: cpu (minutes on 2 cores) or gpu");
  sub->add_option("--backend", o->backend, "cpu, cpu-ref, or cuda / cuda:N in a CUDA build");
  sub->add_option("--seeds", o->seeds, "seeds per arm (default: the grid's)");
  sub->add_option("-o,--out", o->out, "output directory: results.jsonl and runs/<run_id>/")->required();
  sub->add_flag("--keep-checkpoints", o->keep_checkpoints, "keep every finished run's checkpoint");
  sub->add_flag("--dry-run", o->dry_run, "print the expanded arms and stop");
  sub->add_option("--commit", o->commit, "the commit recorded in each row (default: the build's)");
  sub->callback([o] { run_ablate(*o); });
}

}  // namespace braid::cli
