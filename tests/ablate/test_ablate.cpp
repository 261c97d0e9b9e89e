// tests/ablate: the grid expansion of `braid ablate` (models/ablate/grid.h), table by table,
// and the runner (models/ablate/runner.h) on the CPU: rows and their keys, resuming a grid,
// divergence (a killed run's resumption is in tests/cli), and the memory and decode tasks.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "backends/cpu/cpu_backend.h"
#include "models/ablate/grid.h"
#include "models/ablate/runner.h"
#include "models/config.h"
#include "tests/temp_dir.h"
#include "tests/test_helpers.h"

namespace fs = std::filesystem;
using nlohmann::json;
using braid::test::error_of;
using braid::test::TempDir;

namespace {

const json kBase = {{"model_type", "braid"},        {"vocab_size", 32},          {"hidden_size", 32},
                    {"intermediate_size", 64},      {"num_hidden_layers", 2},    {"num_attention_heads", 4},
                    {"num_key_value_heads", 2},     {"mamba_d_state", 4},        {"mamba_d_conv", 4},
                    {"mamba_expand", 2},            {"mamba_dt_rank", "auto"},   {"tie_word_embeddings", true},
                    {"layer_mixers", {"mamba", "attention"}}, {"layer_ffns", {"mlp", "mlp"}},
                    {"dtype", "float32"}};

std::string write_grid(const TempDir& dir, json grid) {
  if (!grid.contains("base")) grid["base"] = kBase;
  const std::string path = dir / "grid.json";
  std::ofstream(path) << grid.dump(2);
  return path;
}

std::string layout_of(const braid::Arm& arm) { return braid::ModelConfig::from_json(arm.config, "arm").layout_string(); }

std::vector<json> rows_of(const std::string& path) {
  std::vector<json> rows;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) rows.push_back(json::parse(line));
  return rows;
}

braid::AblateContext cpu_context(const std::string& out) {
  braid::AblateContext ctx;
  ctx.out = out;
  ctx.commit = "test";
  ctx.device = "test cpu";
  ctx.dtype_of = [](const std::string& name) {
    REQUIRE(name == "f32");
    return braid::DType::f32;
  };
  return ctx;
}

const json kTrain = {{"data", "mqar:vocab=32,num_kv_pairs=2"}, {"seq_len", 16}, {"batch", 4}, {"steps", 4},
                     {"warmup", 1}, {"eval_batches", 1}};

}  // namespace

TEST_CASE("grid: axes expand into their cartesian product, first axis outermost, each arm labelled") {
  TempDir dir;
  const json g = {{"name", "t"}, {"train", kTrain},
                  {"axes", {{{"name", "layout"}, {"values", {"MA", "AAM"}}}, {{"name", "lr"}, {"values", {1e-3, 3e-3}}}}}};
  const braid::Grid grid = braid::load_grid(write_grid(dir, g), "");
  REQUIRE(grid.arms.size() == 4);
  // arm label                 layout            lr
  const std::vector<std::tuple<std::string, std::string, double>> want = {
      {"layout=MA lr=0.001", "M- A-", 1e-3},
      {"layout=MA lr=0.003", "M- A-", 3e-3},
      {"layout=AAM lr=0.001", "A- A- M-", 1e-3},
      {"layout=AAM lr=0.003", "A- A- M-", 3e-3}};
  for (size_t i = 0; i < want.size(); ++i) {
    CHECK(grid.arms[i].label == std::get<0>(want[i]));
    CHECK(layout_of(grid.arms[i]) == std::get<1>(want[i]));
    CHECK(grid.arms[i].recipe.lr == doctest::Approx(std::get<2>(want[i])));
    CHECK(grid.arms[i].recipe.steps == 4);
  }
  CHECK(grid.arms[2].axes["layout"] == "AAM");
}

TEST_CASE("grid: MoE placement, SSM version, FFN kind, PE, inner norm and d_state, table by table") {
  TempDir dir;
  const json moe = {{"period", 2}, {"offset", 1}, {"experts", 4}, {"top_k", 2}};
  const json g = {{"name", "t"}, {"task", "memory"},
                  {"axes", {{{"name", "layout"}, {"values", {"MMAM"}}},
                            {{"name", "moe"}, {"values", {"none", moe}}},
                            {{"name", "mamba_version"}, {"values", {1, 2}}}}}};
  const braid::Grid grid = braid::load_grid(write_grid(dir, g), "");
  REQUIRE(grid.arms.size() == 4);
  const std::vector<std::string> want = {"M- M- A- M-", "2- 2- A- 2-", "M- ME A- ME", "2- 2E A- 2E"};
  for (size_t i = 0; i < want.size(); ++i) CHECK(layout_of(grid.arms[i]) == want[i]);
  const braid::ModelConfig c = braid::ModelConfig::from_json(grid.arms[2].config, "arm");
  CHECK(c.layers[1].ffn.n_experts == 4);
  CHECK(c.layers[1].ffn.top_k == 2);

  const json g2 = {{"name", "t2"}, {"task", "memory"},
                   {"axes", {{{"name", "ffn"}, {"values", {"none"}}},
                             {{"name", "pe"}, {"values", {"rope"}}},
                             {{"name", "mamba_norm"}, {"values", {false}}},
                             {{"name", "d_state"}, {"values", {8}}}}}};
  const braid::Grid grid2 = braid::load_grid(write_grid(dir, g2), "");
  REQUIRE(grid2.arms.size() == 1);
  const braid::ModelConfig c2 = braid::ModelConfig::from_json(grid2.arms[0].config, "arm");
  CHECK(c2.layout_string() == "M. A.");
  CHECK(c2.layers[1].attn.pos_emb == braid::PosEmb::rope);
  CHECK_FALSE(c2.layers[0].mamba.inner_norms);
  CHECK(c2.layers[0].mamba.d_state == 8);
}

TEST_CASE("grid: width scales D and F and keeps the attention head size") {
  TempDir dir;
  const json g = {{"name", "t"}, {"task", "memory"}, {"axes", {{{"name", "width"}, {"values", {16, 64}}}}}};
  const braid::Grid grid = braid::load_grid(write_grid(dir, g), "");
  REQUIRE(grid.arms.size() == 2);
  //   D    F    Hq  Hkv  (base D 32, F 64, 4 heads of 8, 2 KV heads)
  const int64_t want[2][4] = {{16, 32, 2, 2}, {64, 128, 8, 2}};
  for (int i = 0; i < 2; ++i) {
    const braid::ModelConfig c = braid::ModelConfig::from_json(grid.arms[i].config, "arm");
    CHECK(c.hidden_size == want[i][0]);
    CHECK(c.layers[0].ffn.d_ff == want[i][1]);
    CHECK(c.layers[1].attn.n_heads == want[i][2]);
    CHECK(c.layers[1].attn.n_kv_heads == want[i][3]);
    CHECK(c.layers[1].attn.head_dim == 8);
  }
}

TEST_CASE("grid: a scale overlay merges base and train, replaces axis values, evals and seeds") {
  TempDir dir;
  const json g = {{"name", "t"}, {"train", kTrain}, {"seeds", 3},
                  {"axes", {{{"name", "layout"}, {"values", {"MA", "AM", "MM"}}}}},
                  {"evals", {{{"name", "long"}, {"seq_len", 64}}}},
                  {"scales", {{"cpu", {{"base", {{"hidden_size", 16}, {"intermediate_size", 32}}},
                                       {"train", {{"steps", 2}}},
                                       {"axes", {{"layout", {"AM"}}}},
                                       {"evals", json::array()},
                                       {"seeds", 1}}}}}};
  const std::string path = write_grid(dir, g);
  const braid::Grid full = braid::load_grid(path, ""), cpu = braid::load_grid(path, "cpu");
  CHECK(full.arms.size() == 3);
  CHECK(full.seeds == 3);
  CHECK(full.evals.size() == 1);
  REQUIRE(cpu.arms.size() == 1);
  CHECK(cpu.arms[0].label == "layout=AM");
  CHECK(cpu.arms[0].config["hidden_size"] == 16);
  CHECK(cpu.arms[0].recipe.steps == 2);
  CHECK(cpu.arms[0].recipe.batch == 4);  // merged, not replaced
  CHECK(cpu.seeds == 1);
  CHECK(cpu.evals.empty());
}

TEST_CASE("grid: bad grids name the file and the axis, key or value at fault") {
  TempDir dir;
  auto err = [&](json g, const std::string& scale = "") {
    const std::string path = write_grid(dir, g);
    return error_of([&] { braid::load_grid(path, scale); });
  };
  const json axis_bad_layout = {{"name", "layout"}, {"values", {"MXA"}}};
  CHECK(err({{"task", "memory"}, {"axes", {axis_bad_layout}}}).find("axis 'layout': expected a string over A and M") !=
        std::string::npos);
  CHECK(err({{"task", "memory"}, {"axes", {{{"name", "colour"}, {"values", {1}}}}}}).find("unknown axis 'colour'") !=
        std::string::npos);
  CHECK(err({{"task", "memory"}, {"flavour", 1}}).find("unknown grid key 'flavour'") != std::string::npos);
  CHECK(err({{"task", "memory"}}, "gpu").find("no scale 'gpu'") != std::string::npos);
  CHECK(err({{"task", "dance"}}).find("task 'dance'") != std::string::npos);
  json bad_train = kTrain;
  bad_train["learning_rate"] = 1;
  CHECK(err({{"train", bad_train}}).find("unknown training setting 'learning_rate'") != std::string::npos);
  bad_train = kTrain;
  bad_train["steps"] = "many";
  CHECK(err({{"train", bad_train}}).find("'steps' has the wrong type") != std::string::npos);
  // An arm whose config is invalid fails at expansion, naming the arm.
  const std::string e = err({{"task", "memory"}, {"axes", {{{"name", "config.num_attention_heads"}, {"values", {3}}}}}});
  CHECK(e.find("grid.json (arm config.num_attention_heads=3)") != std::string::npos);
  CHECK(err({{"task", "memory"}}).find(dir / "grid.json") == std::string::npos);  // a valid grid: no error
}

TEST_CASE("runner: one row per arm and seed with provenance; a rerun skips finished runs") {
  TempDir dir;
  const json g = {{"name", "t"}, {"train", kTrain}, {"seeds", 2},
                  {"axes", {{{"name", "layout"}, {"values", {"MA", "AA"}}}}},
                  {"evals", {{{"name", "long"}, {"seq_len", 32}, {"batches", 1}}}}};
  const braid::Grid grid = braid::load_grid(write_grid(dir, g), "");
  braid::CpuBackend be;
  const braid::AblateSummary s = braid::run_grid(be, grid, cpu_context(dir / "out"));
  CHECK(s.runs == 4);
  const std::vector<json> rows = rows_of(dir / "out/results.jsonl");
  REQUIRE(rows.size() == 4);
  for (const char* key : {"grid", "task", "scale", "arm", "axes", "seed", "run_id", "config_hash", "layout", "params_total",
                          "params_active", "tokens", "eval", "tokens_per_s", "memory", "commit", "device", "status",
                          "loss_curve", "spikes", "max_abs_peak", "final_loss", "mfu_h100_bf16"})
    CHECK_MESSAGE(rows[0].contains(key), key);
  CHECK(rows[0]["status"] == "ok");
  CHECK(rows[0]["tokens"] == 4 * 4 * 16);
  CHECK(rows[0]["seed"] == 0);
  CHECK(rows[1]["seed"] == 1);
  CHECK(rows[0]["config_hash"] == rows[1]["config_hash"]);
  CHECK(rows[0]["run_id"] != rows[1]["run_id"]);
  CHECK(rows[2]["layout"] == "A- A-");
  CHECK(rows[0]["eval"].contains("heldout"));
  CHECK(rows[0]["eval"]["long/heldout"]["seq_len"] == 32);
  CHECK(rows[0]["memory"]["measured_peak_bytes"].get<int64_t>() > 0);
  CHECK(rows[0]["memory"]["predicted_bytes"].get<int64_t>() > 0);
  CHECK(rows[0]["loss_curve"].size() == 4);
  CHECK(!fs::exists(dir / ("out/runs/" + rows[0]["run_id"].get<std::string>() + "/checkpoint")));

  const braid::AblateSummary again = braid::run_grid(be, grid, cpu_context(dir / "out"));
  CHECK(again.runs == 0);
  CHECK(again.skipped == 4);
  CHECK(rows_of(dir / "out/results.jsonl").size() == 4);
}

TEST_CASE("runner: a run whose loss overflows is recorded as diverged and the grid goes on") {
  TempDir dir;
  json train = kTrain;
  train["lr"] = 1e12;
  train["clip"] = 0;
  train["warmup"] = 0;
  train["steps"] = 20;
  const json g = {{"name", "t"}, {"train", train}, {"axes", {{{"name", "lr"}, {"values", {1e12, 1e-3}}}}}};
  const braid::Grid grid = braid::load_grid(write_grid(dir, g), "");
  braid::CpuBackend be;
  const braid::AblateSummary s = braid::run_grid(be, grid, cpu_context(dir / "out"));
  CHECK(s.runs == 2);
  CHECK(s.diverged == 1);
  const std::vector<json> rows = rows_of(dir / "out/results.jsonl");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0]["status"] == "diverged");
  CHECK(rows[0]["steps"].get<int64_t>() < 20);
  CHECK(rows[0]["error"].get<std::string>().find("not finite") != std::string::npos);
  CHECK(rows[1]["status"] == "ok");
}

TEST_CASE("runner: the memory task allocates exactly the cache the analytic model predicts") {
  TempDir dir;
  const json g = {{"name", "t"}, {"task", "memory"},
                  {"memory", {{"contexts", {1024, 4096}}, {"batch", 2}, {"dtype", "f32"}, {"measure_context", 256}}},
                  {"axes", {{{"name", "layout"}, {"values", {"MA", "AA", "MM"}}}}}};
  const braid::Grid grid = braid::load_grid(write_grid(dir, g), "");
  braid::CpuBackend be;
  braid::run_grid(be, grid, cpu_context(dir / "out"));
  const std::vector<json> rows = rows_of(dir / "out/results.jsonl");
  REQUIRE(rows.size() == 9);  // two contexts and one measurement per arm
  // AA at 4096 tokens, 2 rows, bf16 (the config says float32 here): 2 layers · K,V · 2 heads · 8 · 4 B.
  CHECK(rows[4]["kv_cache_bytes"] == int64_t{2} * 2 * 2 * 8 * 4 * 4096 * 2);
  CHECK(rows[7]["kv_cache_bytes"] == 0);  // MM: no attention
  for (const json& r : rows)
    if (r.contains("measured_cache_bytes")) CHECK(r["measured_cache_bytes"] == r["predicted_cache_bytes"]);
}

TEST_CASE("runner: the decode task times every batch × context and refuses what cannot fit") {
  TempDir dir;
  const json g = {{"name", "t"}, {"task", "decode"},
                  {"decode", {{"contexts", {16, 64}}, {"batches", {1, 2}}, {"n_gen", 2}, {"reps", 1}, {"dtype", "f32"}}}};
  const braid::Grid grid = braid::load_grid(write_grid(dir, g), "");
  braid::CpuBackend be;
  braid::run_grid(be, grid, cpu_context(dir / "out"));
  std::vector<json> rows = rows_of(dir / "out/results.jsonl");
  REQUIRE(rows.size() == 4);
  CHECK(rows[1]["batch"] == 1);
  CHECK(rows[1]["context"] == 64);
  for (const json& r : rows) {
    CHECK(r["status"] == "ok");
    CHECK(r["tokens_per_s"].get<double>() > 0);
    CHECK(r["memory"]["measured_peak_bytes"].get<int64_t>() > 0);
  }
  braid::AblateContext small = cpu_context(dir / "small");
  small.device_bytes = 1000;  // nothing fits in 1000 bytes
  braid::run_grid(be, grid, small);
  rows = rows_of(dir / "small/results.jsonl");
  REQUIRE(rows.size() == 4);
  for (const json& r : rows) {
    CHECK(r["status"] == "does_not_fit");
    CHECK(!r.contains("tokens_per_s"));
  }
}

TEST_CASE("bad input: a results file holding another grid's rows is refused") {
  TempDir dir;
  const json g = {{"name", "mine"}, {"task", "memory"}, {"memory", {{"contexts", {16}}}}};
  const braid::Grid grid = braid::load_grid(write_grid(dir, g), "");
  fs::create_directories(dir / "out");
  std::ofstream(dir / "out/results.jsonl") << json{{"grid", "theirs"}, {"run_id", "x"}}.dump() << "\n";
  braid::CpuBackend be;
  const std::string e = error_of([&] { braid::run_grid(be, grid, cpu_context(dir / "out")); });
  CHECK(e.find("results.jsonl: holds a row of grid 'theirs', not 'mine'") != std::string::npos);
}
