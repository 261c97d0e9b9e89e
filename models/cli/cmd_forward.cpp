// braid forward --model DIR --input IDS.npy --output LOGITS.npy [--backend cpu]
// Full-sequence logits: int32/int64 ids [B, T] in, float32 logits [B, T, V] out (written
// atomically: no partial output file on any error).
#include <vector>

#include "models/cli/backend_choice.h"
#include "models/cli/cli.h"
#include "models/cli/token_input.h"
#include "models/io/npy.h"
#include "models/model.h"

namespace braid::cli {
namespace {

struct ForwardOptions {
  std::string model, input, output, backend = "cpu", dtype = "f32";
};

void run_forward(const ForwardOptions& o) {
  auto be = make_backend(o.backend);
  HybridModel model = HybridModel::load(*be, o.model, compute_dtype(o.dtype, *be));
  const int64_t V = model.config().vocab_size;
  const TokenBatch in = read_token_npy(o.input, V);
  Tensor logits = model.forward(in.ids, in.B, in.T, {}, nullptr, LogitsAt::all);
  const std::vector<float> host = to_host_f32(*be, logits);
  write_npy_f32(o.output, Shape{in.B, in.T, V}, host.data());
}

}  // namespace

void add_forward(CLI::App& app) {
  auto opts = std::make_shared<ForwardOptions>();
  CLI::App* sub = app.add_subcommand("forward", "full-sequence logits for token ids in a .npy file");
  sub->add_option("-m,--model", opts->model, "checkpoint directory (config.json + safetensors)")->required();
  sub->add_option("-i,--input", opts->input, "int32/int64 token ids [B, T] (.npy)")->required();
  sub->add_option("-o,--output", opts->output, "float32 logits [B, T, V] (.npy)")->required();
  sub->add_option("--backend", opts->backend, "cpu (with fast paths), cpu-ref (reference loops), or cuda / cuda:N in a CUDA build");
  sub->add_option("--dtype", opts->dtype, "compute dtype: f32 (default) or bf16 (cuda)");
  sub->callback([opts] { run_forward(*opts); });
}

}  // namespace braid::cli
