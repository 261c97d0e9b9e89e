// braid grad --model DIR --input IDS.npy --output GRADS.safetensors [--backend cpu|cuda]
// Gradients of the mean next-token cross-entropy over all B×(T−1) positions (no auxiliary
// loss) with respect to every parameter, written as float32 safetensors under each
// parameter's checkpoint (HF) name; a tied embedding appears once, holding both uses. The
// last stdout line is {"loss": x}.
#include <cstdio>
#include <vector>

#include "models/checkpoint.h"
#include "models/cli/backend_choice.h"
#include "models/cli/cli.h"
#include "models/cli/token_input.h"
#include "models/model.h"

namespace braid::cli {
namespace {

struct GradOptions {
  std::string model, input, output, backend = "cpu", dtype = "f32";
};

void run_grad(const GradOptions& o) {
  auto be = make_backend(o.backend);
  HybridModel model = HybridModel::load(*be, o.model, compute_dtype(o.dtype, *be));
  const TokenBatch in = read_token_npy(o.input, model.config().vocab_size);
  if (in.T < 2) fail(o.input, ": next-token loss needs T ≥ 2 tokens per row, got T = ", in.T);
  const std::vector<int32_t> targets = next_token_targets(in.ids, in.B, in.T);
  LossOptions opt;
  opt.ce_weight = 1.0 / static_cast<double>(in.B * (in.T - 1));
  ParamStore grads = model.new_grads();
  const LossResult r = model.loss_and_grad(in.ids, targets, in.B, in.T, &grads, opt);
  write_params(grads, o.output, DType::f32, {{"format", "pt"}, {"loss", "mean next-token cross-entropy"}});
  std::printf("{\"loss\": %.9g}\n", r.ce_sum / static_cast<double>(r.count));
}

}  // namespace

void add_grad(CLI::App& app) {
  auto opts = std::make_shared<GradOptions>();
  CLI::App* sub = app.add_subcommand("grad", "gradients of the next-token loss for token ids in a .npy file");
  sub->add_option("-m,--model", opts->model, "checkpoint directory (config.json + safetensors)")->required();
  sub->add_option("-i,--input", opts->input, "int32/int64 token ids [B, T] (.npy), T ≥ 2")->required();
  sub->add_option("-o,--output", opts->output, "float32 gradients (.safetensors), one per parameter")->required();
  sub->add_option("--backend", opts->backend, "cpu (with fast paths), cpu-ref (reference loops), or cuda / cuda:N in a CUDA build");
  sub->add_option("--dtype", opts->dtype, "compute dtype: f32 (default) or bf16 (cuda)");
  sub->callback([opts] { run_grad(*opts); });
}

}  // namespace braid::cli
