// The `braid` command line, run as a user would: the documented forms, the JSON keys other
// tools read, and one test per bad-input case (a one-line error naming the file, tensor or
// value at fault, a non-zero exit, and no partial output file).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "models/io/npy.h"
#include "models/io/safetensors.h"
#include "tests/temp_dir.h"
#include "tests/test_helpers.h"

namespace fs = std::filesystem;
using nlohmann::json;
using braid::test::TempDir;

namespace {

struct Result {
  int rc = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f << bytes;
}

Result run_braid(const std::string& args, const std::string& stdin_path = "/dev/null") {
  const char* bin = std::getenv("BRAID_BIN");
  REQUIRE_MESSAGE(bin, "BRAID_BIN is not set (meson test sets it)");
  TempDir tmp;
  const std::string cmd = std::string(bin) + " " + args + " >" + (tmp.path / "out").string() + " 2>" +
                          (tmp.path / "err").string() + " <" + stdin_path;
  const int status = std::system(cmd.c_str());
  Result r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(tmp.path / "out");
  r.err = slurp(tmp.path / "err");
  return r;
}

const fs::path kTinyConfig = fs::path(BRAID_SOURCE_ROOT) / "models/configs/tiny-hybrid.json";

// A small valid checkpoint made by `braid init`.
fs::path make_checkpoint(const fs::path& dir) {
  const Result r = run_braid("init --config " + kTinyConfig.string() + " --out " + dir.string() + " --seed 3");
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  return dir;
}

void write_ids(const fs::path& p, const std::vector<int64_t>& ids, braid::Shape shape) {
  braid::write_npy_i64(p.string(), shape, ids.data());
}

// The failure every bad input must produce: non-zero exit, exactly one stderr line that
// contains each of `needles`, and no crash.
void check_clean_error(const Result& r, std::initializer_list<std::string> needles) {
  INFO("stderr: " << r.err);
  CHECK(r.rc == 1);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.rfind("braid: error: ", 0) == 0);
  for (const std::string& n : needles) CHECK(r.err.find(n) != std::string::npos);
}

// Runs `forward` on `model` and checks the error, and that no output file was left behind.
void check_forward_fails(const fs::path& model, const fs::path& ids, std::initializer_list<std::string> needles) {
  TempDir out;
  const fs::path logits = out.path / "logits.npy";
  const Result r = run_braid("forward --model " + model.string() + " --input " + ids.string() + " --output " + logits.string());
  check_clean_error(r, needles);
  CHECK(!fs::exists(logits));
  CHECK(!fs::exists(logits.string() + ".tmp"));
}

// Rewrites the safetensors header of dir/model.safetensors (keeping the data section).
void replace_header(const fs::path& file, const std::string& header, uint64_t declared_len) {
  const std::string old = slurp(file);
  uint64_t n = 0;
  std::memcpy(&n, old.data(), 8);
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &declared_len, 8);
  bytes += header + old.substr(8 + n);
  write_file(file, bytes);
}

}  // namespace

TEST_CASE("init, describe, forward and generate on the bundled tiny hybrid") {
  TempDir tmp;
  const fs::path ckpt = make_checkpoint(tmp.path / "tiny");
  CHECK(fs::exists(ckpt / "config.json"));
  CHECK(fs::exists(ckpt / "model.safetensors"));

  Result d = run_braid("describe --model " + ckpt.string() + " --json");
  REQUIRE(d.rc == 0);
  const json dj = json::parse(d.out);
  for (const char* key : {"params_total", "params_active", "kv_cache_bytes", "ssm_state_bytes", "layers"})
    CHECK(dj.contains(key));
  REQUIRE(dj["layers"].size() == 8);
  CHECK(dj["layers"][2]["mixer"] == "attention");
  CHECK(dj["layers"][0]["mixer"] == "mamba");
  CHECK(dj["layers"][1]["ffn"] == "moe");
  CHECK(dj["layers"][0]["ffn"] == "mlp");
  CHECK(dj["params_active"].get<int64_t>() < dj["params_total"].get<int64_t>());

  write_ids(tmp.path / "ids.npy", {1, 2, 3, 4, 5, 6}, {2, 3});
  Result f = run_braid("forward --model " + ckpt.string() + " --input " + (tmp.path / "ids.npy").string() + " --output " +
                   (tmp.path / "logits.npy").string());
  REQUIRE_MESSAGE(f.rc == 0, f.err);
  const braid::NpyArray logits = braid::read_npy((tmp.path / "logits.npy").string());
  CHECK(logits.shape == braid::Shape{2, 3, 512});

  Result g = run_braid("generate --model " + ckpt.string() + " --prompt-ids 1,2,3 --max-new-tokens 5 --json");
  REQUIRE_MESSAGE(g.rc == 0, g.err);
  const std::string last = g.out.substr(g.out.find_last_of('\n', g.out.size() - 2) + 1);
  const json gj = json::parse(last);
  REQUIRE(gj["tokens"].size() == 8);
  CHECK(gj["tokens"][0] == 1);
  CHECK(gj["tokens"][2] == 3);
  // The same seed gives the same sampled tokens.
  const std::string sampled = "generate --model " + ckpt.string() +
                              " --prompt-ids 4,5 --max-new-tokens 6 --temperature 0.8 --top-k 20 --top-p 0.9 --seed 9 --json";
  CHECK(run_braid(sampled).out == run_braid(sampled).out);
}

TEST_CASE("describe: Jamba-v0.1 is 51.6B total / 12.1B active with a 4 GiB KV cache at 256K tokens") {
  const fs::path cfg = fs::path(BRAID_SOURCE_ROOT) / "models/configs/jamba-v0.1.json";
  Result r = run_braid("describe --model " + cfg.string() + " --context 262144 --json");
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const json j = json::parse(r.out);
  CHECK(std::llround(j["params_total"].get<double>() / 1e8) == 516);
  CHECK(std::llround(j["params_active"].get<double>() / 1e8) == 121);
  CHECK(j["kv_cache_bytes"].get<int64_t>() == 4ll << 30);

  TempDir tmp;
  json all_attention = json::parse(slurp(cfg));
  all_attention["attn_layer_period"] = 1;
  all_attention["attn_layer_offset"] = 0;
  write_file(tmp.path / "config.json", all_attention.dump());
  r = run_braid("describe --model " + (tmp.path / "config.json").string() + " --context 262144 --json");
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  CHECK(json::parse(r.out)["kv_cache_bytes"].get<int64_t>() == 32ll << 30);
}

TEST_CASE("bad input: malformed safetensors header") {
  TempDir tmp;
  const fs::path ckpt = make_checkpoint(tmp.path / "m");
  write_ids(tmp.path / "ids.npy", {1, 2}, {1, 2});
  const std::string bad = "{\"model.embed_tokens.weight\": [";
  replace_header(ckpt / "model.safetensors", bad, bad.size());
  check_forward_fails(ckpt, tmp.path / "ids.npy", {"model.safetensors"});
}

TEST_CASE("bad input: truncated safetensors header") {
  TempDir tmp;
  const fs::path ckpt = make_checkpoint(tmp.path / "m");
  write_ids(tmp.path / "ids.npy", {1, 2}, {1, 2});
  write_file(ckpt / "model.safetensors", std::string("\x10\x00\x00", 3));
  check_forward_fails(ckpt, tmp.path / "ids.npy", {"model.safetensors"});
}

TEST_CASE("bad input: oversized safetensors header") {
  TempDir tmp;
  const fs::path ckpt = make_checkpoint(tmp.path / "m");
  write_ids(tmp.path / "ids.npy", {1, 2}, {1, 2});
  replace_header(ckpt / "model.safetensors", "{}", uint64_t{1} << 40);
  check_forward_fails(ckpt, tmp.path / "ids.npy", {"model.safetensors"});
}

TEST_CASE("bad input: tensor offsets past the end of the file") {
  TempDir tmp;
  const fs::path ckpt = make_checkpoint(tmp.path / "m");
  write_ids(tmp.path / "ids.npy", {1, 2}, {1, 2});
  const fs::path file = ckpt / "model.safetensors";
  std::string bytes = slurp(file);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  json header = json::parse(bytes.substr(8, n));
  // Point the embedding far past the end of the data section, keeping its size.
  auto& e = header["model.embed_tokens.weight"]["data_offsets"];
  const int64_t size = e[1].get<int64_t>() - e[0].get<int64_t>();
  e = {int64_t{1} << 30, (int64_t{1} << 30) + size};
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  replace_header(file, h, h.size());
  check_forward_fails(ckpt, tmp.path / "ids.npy", {"model.safetensors", "model.embed_tokens.weight"});
}

TEST_CASE("bad input: config.json that is not JSON") {
  TempDir tmp;
  const fs::path ckpt = make_checkpoint(tmp.path / "m");
  write_ids(tmp.path / "ids.npy", {1, 2}, {1, 2});
  write_file(ckpt / "config.json", "{\"model_type\": \"jamba\", ");
  check_forward_fails(ckpt, tmp.path / "ids.npy", {"config.json"});
}

TEST_CASE("bad input: unknown model_type") {
  TempDir tmp;
  const fs::path ckpt = make_checkpoint(tmp.path / "m");
  write_ids(tmp.path / "ids.npy", {1, 2}, {1, 2});
  json cfg = json::parse(slurp(ckpt / "config.json"));
  cfg["model_type"] = "llama";
  write_file(ckpt / "config.json", cfg.dump());
  check_forward_fails(ckpt, tmp.path / "ids.npy", {"config.json", "llama"});
}

TEST_CASE("bad input: config that contradicts the weights") {
  TempDir tmp;
  const fs::path ckpt = make_checkpoint(tmp.path / "m");
  write_ids(tmp.path / "ids.npy", {1, 2}, {1, 2});
  json cfg = json::parse(slurp(ckpt / "config.json"));
  SUBCASE("missing tensor") {
    cfg["mamba_proj_bias"] = true;  // the config now wants in_proj.bias, which the file lacks
    write_file(ckpt / "config.json", cfg.dump());
    check_forward_fails(ckpt, tmp.path / "ids.npy", {"in_proj.bias", "missing"});
  }
  SUBCASE("wrong shape") {
    cfg["intermediate_size"] = 200;
    write_file(ckpt / "config.json", cfg.dump());
    check_forward_fails(ckpt, tmp.path / "ids.npy", {"model.safetensors", "shape", "[256, 128]", "[200, 128]"});
  }
}

TEST_CASE("bad input: token ids outside the vocabulary or negative") {
  TempDir tmp;
  const fs::path ckpt = make_checkpoint(tmp.path / "m");
  write_ids(tmp.path / "big.npy", {1, 2, 512}, {1, 3});
  check_forward_fails(ckpt, tmp.path / "big.npy", {"big.npy", "512", "[0, 2]"});
  write_ids(tmp.path / "neg.npy", {-4, 2}, {2, 1});
  check_forward_fails(ckpt, tmp.path / "neg.npy", {"neg.npy", "-4"});
  check_clean_error(run_braid("generate --model " + ckpt.string() + " --prompt-ids 1,9999 --max-new-tokens 2"),
                    {"--prompt-ids", "9999"});
  check_clean_error(run_braid("generate --model " + ckpt.string() + " --prompt-ids 1,-2 --max-new-tokens 2"),
                    {"--prompt-ids", "-2"});
}

TEST_CASE("bad input: empty input") {
  TempDir tmp;
  const fs::path ckpt = make_checkpoint(tmp.path / "m");
  write_ids(tmp.path / "empty.npy", {}, {1, 0});
  check_forward_fails(ckpt, tmp.path / "empty.npy", {"empty.npy", "empty"});
  check_clean_error(run_braid("generate --model " + ckpt.string() + " --prompt-ids '' --max-new-tokens 2"),
                    {"--prompt-ids", "empty"});
}

TEST_CASE("bad input: a missing directory") {
  TempDir tmp;
  write_ids(tmp.path / "ids.npy", {1, 2}, {1, 2});
  const fs::path missing = tmp.path / "no-such-model";
  check_forward_fails(missing, tmp.path / "ids.npy", {"no-such-model"});
  check_clean_error(run_braid("describe --model " + missing.string()), {"no-such-model"});
  check_clean_error(run_braid("generate --model " + missing.string() + " --prompt-ids 1 --max-new-tokens 1"),
                    {"no-such-model"});
}

TEST_CASE("describe: the 1B Jamba-like bench config has attention at 4 and 12 and MoE on odd layers") {
  const fs::path cfg = fs::path(BRAID_SOURCE_ROOT) / "models/configs/jamba-1b-bench.json";
  const Result r = run_braid("describe --model " + cfg.string() + " --json");
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const json j = json::parse(r.out);
  // Embedding + head 2·32000·1024; 14 Mamba layers of 6,666,336; 2 attention layers of
  // 2,621,440; 8 MLPs of 3·1024·3584; 8 MoE layers of 8 such experts + a 1024×8 router;
  // 2 norms per layer and the final norm.
  CHECK(j["params_total"].get<int64_t>() == 956930368);
  CHECK(j["params_active"].get<int64_t>() == 428448064);
  REQUIRE(j["layers"].size() == 16);
  for (int il = 0; il < 16; ++il) {
    INFO("layer " << il);
    CHECK(j["layers"][il]["mixer"] == (il % 8 == 4 ? "attention" : "mamba"));
    CHECK(j["layers"][il]["ffn"] == (il % 2 == 1 ? "moe" : "mlp"));
  }
}

TEST_CASE("bench: prefill and decode records on the CPU, from a config and from a checkpoint") {
  TempDir tmp;
  const fs::path dir = make_checkpoint(tmp.path / "ckpt");
  for (const std::string& model : {kTinyConfig.string(), dir.string()}) {
    const Result r = run_braid("bench --model " + model + " -p 8,16 -n 4 -b 1,2 -r 2 --json");
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    const json j = json::parse(r.out);
    REQUIRE(j.is_array());
    CHECK(j.size() == 6);  // per batch: pp8, pp16, tg4
    for (const json& rec : j) {
      INFO(rec.dump());
      for (const char* key : {"model", "config", "backend", "dtype", "test", "build_commit", "timestamp"})
        CHECK(rec.at(key).is_string());
      CHECK(rec["backend"] == "cpu");
      CHECK(rec["dtype"] == "f32");
      CHECK(rec["batch"].get<int64_t>() >= 1);
      CHECK(rec["repetitions"] == 2);
      CHECK(rec["avg_ts"].get<double>() > 0);
      CHECK(rec["stddev_ts"].get<double>() >= 0);
      CHECK(rec["samples_ts"].size() == 2);
      for (const json& s : rec["samples_ts"]) CHECK(s.get<double>() > 0);
      CHECK(rec["peak_memory_bytes"].get<int64_t>() > 0);
      CHECK(rec["predicted_memory_bytes"].get<int64_t>() > 0);
      const bool pp = rec["test"].get<std::string>().rfind("pp", 0) == 0;
      CHECK((pp ? rec["n_prompt"] : rec["n_gen"]).get<int64_t>() > 0);
      CHECK((pp ? rec["n_gen"] : rec["n_prompt"]).get<int64_t>() == 0);
    }
  }
  const Result table = run_braid("bench --model " + kTinyConfig.string() + " -p 8 -n 2 -r 1");
  REQUIRE_MESSAGE(table.rc == 0, table.err);
  CHECK(table.out.find("| pp8 |") != std::string::npos);
  CHECK(table.out.find("| tg2 |") != std::string::npos);
}

TEST_CASE("bad input: bench arguments") {
  check_clean_error(run_braid("bench --model /nonexistent/model -p 8"), {"/nonexistent/model", "no such file"});
  check_clean_error(run_braid("bench --model " + kTinyConfig.string() + " -p 0 -n 0"), {"nothing to run"});
  check_clean_error(run_braid("bench --model " + kTinyConfig.string() + " -p -3"), {"-p", "-3"});
  check_clean_error(run_braid("bench --model " + kTinyConfig.string() + " -p 8,x"), {"-p", "'x'"});
  check_clean_error(run_braid("bench --model " + kTinyConfig.string() + " -b 0"), {"-b", ">= 1"});
  check_clean_error(run_braid("bench --model " + kTinyConfig.string() + " -r 0"), {"-r"});
  check_clean_error(run_braid("bench --model " + kTinyConfig.string() + " --dtype bf16"), {"bf16"});
  // A batch whose cache cannot be allocated: a clear error naming the test and the prediction.
  check_clean_error(run_braid("bench --model " + kTinyConfig.string() + " -p 0 -n 1 -b 100000000000"),
                    {"tg1", "batch 100000000000", "predicted peak"});
}

TEST_CASE("grad: float32 gradients under every checkpoint name, last stdout line {\"loss\": x}") {
  TempDir tmp;
  const fs::path ckpt = make_checkpoint(tmp.path / "tiny");
  write_ids(tmp.path / "ids.npy", {1, 2, 3, 4, 5, 6, 7, 8}, {2, 4});
  const fs::path grads = tmp.path / "grads.safetensors";
  const Result r = run_braid("grad --model " + ckpt.string() + " --input " + (tmp.path / "ids.npy").string() +
                             " --output " + grads.string() + " --backend cpu");
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const std::string last = r.out.substr(r.out.find_last_of('\n', r.out.size() - 2) + 1);
  const json j = json::parse(last);
  REQUIRE(j.contains("loss"));
  CHECK(j["loss"].get<double>() > 0);
  CHECK(std::fabs(j["loss"].get<double>() - std::log(512.0)) < 0.5);  // near ln V at initialisation
  // Same names and shapes as the checkpoint itself, all F32.
  const braid::SafetensorsFile g(grads.string()), w((ckpt / "model.safetensors").string());
  REQUIRE(g.tensors().size() == w.tensors().size());
  for (const braid::SafetensorsTensor& t : w.tensors()) {
    const braid::SafetensorsTensor* gt = g.find(t.name);
    REQUIRE_MESSAGE(gt, t.name);
    CHECK(gt->shape == t.shape);
    CHECK(gt->dtype == braid::DType::f32);
  }
}

TEST_CASE("bad input: grad needs two tokens per row and leaves no output behind") {
  TempDir tmp;
  const fs::path ckpt = make_checkpoint(tmp.path / "tiny");
  write_ids(tmp.path / "one.npy", {1, 2}, {2, 1});
  const fs::path grads = tmp.path / "grads.safetensors";
  const Result r = run_braid("grad --model " + ckpt.string() + " --input " + (tmp.path / "one.npy").string() +
                             " --output " + grads.string());
  check_clean_error(r, {"one.npy", "T ≥ 2"});
  CHECK(!fs::exists(grads));
}

// ---- braid ablate ----

namespace {

std::vector<json> jsonl_rows(const fs::path& p) {
  std::vector<json> rows;
  std::istringstream in(slurp(p));
  for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
  return rows;
}

json last_json_line(const std::string& out) {
  return json::parse(out.substr(out.find_last_of('\n', out.size() - 2) + 1));
}

// A two-arm MQAR grid of `steps` steps that checkpoints every `save_every`.
fs::path write_small_grid(const fs::path& dir, int steps, int save_every) {
  const json grid = {
      {"name", "small"},
      {"base", {{"model_type", "braid"}, {"vocab_size", 64}, {"hidden_size", 32}, {"intermediate_size", 64},
                {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
                {"mamba_d_state", 4}, {"layer_mixers", {"mamba", "attention"}}, {"layer_ffns", {"mlp", "mlp"}},
                {"tie_word_embeddings", true}, {"dtype", "float32"}}},
      {"train", {{"data", "mqar:num_kv_pairs=4"}, {"seq_len", 32}, {"batch", 8}, {"steps", steps},
                 {"save_every", save_every}, {"eval_batches", 1}}},
      {"axes", {{{"name", "layout"}, {"values", {"MA", "AM"}}}}}};
  const fs::path path = dir / "grid.json";
  write_file(path, grid.dump(2));
  return path;
}

}  // namespace

TEST_CASE("ablate: the A1 grid at CPU scale reproduces Jamba's Table 1 KV caches and parameter counts") {
  TempDir tmp;
  const fs::path grid = fs::path(BRAID_SOURCE_ROOT) / "ablations/a1-kv-cache/grid.json";
  const Result r = run_braid("ablate " + grid.string() + " --scale cpu --out " + (tmp.path / "a1").string());
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const json summary = last_json_line(r.out);
  CHECK(summary["runs"] == 40);
  CHECK(summary["diverged"] == 0);
  constexpr int64_t GiB = int64_t{1} << 30;
  // model label prefix          KV cache at 256K tokens (16-bit), GiB   params total ≈ (B)
  const std::vector<std::tuple<std::string, int64_t, double>> want = {
      {"Jamba-v0.1", 4, 51.6}, {"Jamba dims, 1:3", 8, 51.3}, {"Jamba dims, all attention", 32, 49.8},
      {"Jamba dims, all Mamba", 0, 51.8}, {"Llama-2-7B", 128, 6.74}, {"Mistral-7B", 32, 7.24},
      {"Mixtral-8x7B", 32, 46.7}, {"Llama-2-70B", 80, 69.0}};
  const std::vector<json> rows = jsonl_rows(tmp.path / "a1/results.jsonl");
  for (const auto& [label, kv_gib, params_b] : want) {
    bool found = false;
    for (const json& row : rows) {
      if (row["arm"].get<std::string>().rfind("model=" + label, 0) != 0) continue;
      if (row.contains("measured_cache_bytes")) {
        CHECK_MESSAGE(row["measured_cache_bytes"] == row["predicted_cache_bytes"], label);
        continue;
      }
      if (row["context"] != 262144) continue;
      found = true;
      CHECK_MESSAGE(row["kv_cache_bytes"] == kv_gib * GiB, label);
      CHECK_MESSAGE(row["params_total"].get<double>() / 1e9 == doctest::Approx(params_b).epsilon(0.005), label);
      CHECK(row["device"].get<std::string>().size() > 0);
    }
    CHECK_MESSAGE(found, label);
  }
}

TEST_CASE("bad input: ablate names the grid file and the axis value at fault") {
  TempDir tmp;
  write_file(tmp.path / "grid.json", R"({"task": "memory", "axes": [{"name": "layout", "values": ["MQ"]}]})");
  const Result r = run_braid("ablate " + (tmp.path / "grid.json").string() + " --out " + (tmp.path / "out").string());
  check_clean_error(r, {"grid.json", "axis 'layout'", "\"MQ\""});
  CHECK(!fs::exists(tmp.path / "out/results.jsonl"));
  write_file(tmp.path / "bad.json", "{not json");
  check_clean_error(run_braid("ablate " + (tmp.path / "bad.json").string() + " --out " + (tmp.path / "out").string()),
                    {"bad.json", "not valid JSON"});
}

TEST_CASE("ablate: a grid killed mid-run (SIGKILL) resumes from the last checkpoint to the uninterrupted losses") {
  TempDir tmp;
  const fs::path grid = write_small_grid(tmp.path, 300, 50);
  const Result whole = run_braid("ablate " + grid.string() + " --out " + (tmp.path / "whole").string());
  REQUIRE_MESSAGE(whole.rc == 0, whole.err);
  const std::vector<json> want = jsonl_rows(tmp.path / "whole/results.jsonl");
  REQUIRE(want.size() == 2);

  // Start the same grid and kill it once the first run has a checkpoint, before its row.
  const fs::path out = tmp.path / "cut";
  const fs::path state = out / "runs" / want[0]["run_id"].get<std::string>() / "checkpoint/trainer_state.json";
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const std::string bin = std::getenv("BRAID_BIN");
    if (!freopen("/dev/null", "w", stdout)) _exit(127);
    execl(bin.c_str(), bin.c_str(), "ablate", grid.c_str(), "--out", out.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  bool killed_mid_run = false;
  for (int i = 0; i < 60000; ++i) {
    if (fs::exists(state)) {
      kill(pid, SIGKILL);
      killed_mid_run = !fs::exists(out / "results.jsonl");
      break;
    }
    usleep(500);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE_MESSAGE(killed_mid_run, "the run finished before it could be killed");
  CHECK(WIFSIGNALED(status));

  const Result resumed = run_braid("ablate " + grid.string() + " --out " + out.string());
  REQUIRE_MESSAGE(resumed.rc == 0, resumed.err);
  CHECK(resumed.out.find("resumed from step") != std::string::npos);
  const std::vector<json> got = jsonl_rows(out / "results.jsonl");
  REQUIRE(got.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(got[i]["run_id"] == want[i]["run_id"]);
    CHECK(got[i]["final_loss"].get<double>() == want[i]["final_loss"].get<double>());  // bit-exact on the CPU
    CHECK(got[i]["loss_curve"] == want[i]["loss_curve"]);
    CHECK(got[i]["eval"]["heldout"]["loss"] == want[i]["eval"]["heldout"]["loss"]);
  }
}

// ---- braid tokenize, generate --prompt ----

namespace {

const fs::path kTokFixtures = fs::path(BRAID_SOURCE_ROOT) / "tests/fixtures/tokenizer";

// A tiny hybrid whose vocabulary covers `tokenizer`'s ids, with the tokenizer beside it.
fs::path make_text_model(const fs::path& dir, const fs::path& tokenizer) {
  const json tok = json::parse(slurp(tokenizer));
  int64_t vocab = 0;
  for (const auto& [k, v] : tok["model"]["vocab"].items()) vocab = std::max<int64_t>(vocab, v.get<int64_t>() + 1);
  for (const json& a : tok["added_tokens"]) vocab = std::max<int64_t>(vocab, a["id"].get<int64_t>() + 1);
  json cfg = json::parse(slurp(kTinyConfig));
  cfg["vocab_size"] = vocab;
  cfg["eos_token_id"] = vocab + 1;  // never generated: runs have their full length
  write_file(dir / "config.json", cfg.dump());
  const Result r = run_braid("init --config " + (dir / "config.json").string() + " --out " + (dir / "model").string() + " --seed 5");
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  fs::copy_file(tokenizer, dir / "model/tokenizer.json");
  return dir / "model";
}

}  // namespace

TEST_CASE("tokenize: --json prints HF's ids and decoded text, from a file or stdin") {
  TempDir tmp;
  const fs::path tok = kTokFixtures / "bytelevel-llama3/tokenizer.json";
  const json cases = json::parse(slurp(kTokFixtures / "bytelevel-llama3/cases.json"));
  int checked = 0;
  for (const json& c : cases) {
    if (checked == 5) break;
    const std::string text = braid::test::base64_decode(c["text_b64"].get<std::string>());
    if (text.empty()) continue;
    write_file(tmp.path / "in.txt", text);
    const Result r = run_braid("tokenize --tokenizer " + tok.string() + " --text-file " + (tmp.path / "in.txt").string() + " --json");
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    const json j = last_json_line(r.out);
    CHECK(j["ids"] == c["ids"]);
    CHECK(j["decoded"] == c["decoded"]);
    const Result s = run_braid("tokenize --tokenizer " + tok.string() + " --text-file - --json", (tmp.path / "in.txt").string());
    CHECK(last_json_line(s.out)["ids"] == c["ids"]);
    ++checked;
  }
  CHECK(checked == 5);
}

TEST_CASE("bad input: tokenize names the missing tokenizer and the first byte that is not UTF-8") {
  TempDir tmp;
  check_clean_error(run_braid("tokenize --tokenizer " + (tmp.path / "none.json").string() + " --text-file -"),
                    {"none.json", "no such file"});
  write_file(tmp.path / "bad.txt", std::string("ok\xC3(", 4));
  check_clean_error(run_braid("tokenize --tokenizer " + (kTokFixtures / "bytelevel-gpt2/tokenizer.json").string() +
                              " --text-file " + (tmp.path / "bad.txt").string()),
                    {"bad.txt", "not valid UTF-8 (byte 2"});
  write_file(tmp.path / "unigram.json", R"({"model": {"type": "Unigram", "vocab": []}})");
  check_clean_error(run_braid("tokenize --tokenizer " + (tmp.path / "unigram.json").string()), {"unigram.json", "Unigram"});
}

TEST_CASE("generate --prompt: text streams out, --stop ends it after the stop string") {
  TempDir tmp;
  const fs::path model = make_text_model(tmp.path, kTokFixtures / "bytelevel-gpt2/tokenizer.json");
  const Result full = run_braid("generate --model " + model.string() + " --prompt 'The Jargon File' -n 12 --json");
  REQUIRE_MESSAGE(full.rc == 0, full.err);
  const json j = last_json_line(full.out);
  const std::string text = j["text"].get<std::string>();
  CHECK(j["tokens"].size() > 12);  // the prompt's ids, then 12 new ones
  const Result plain = run_braid("generate --model " + model.string() + " --prompt 'The Jargon File' -n 12");
  REQUIRE(plain.rc == 0);
  CHECK(plain.out == text + "\n");  // streamed pieces add up to the decoded text
  REQUIRE(text.size() >= 4);
  const std::string stop = text.substr(1, 2);
  const Result cut = run_braid("generate --model " + model.string() + " --prompt 'The Jargon File' -n 12 --json --stop '" + stop + "'");
  REQUIRE_MESSAGE(cut.rc == 0, cut.err);
  const std::string cut_text = last_json_line(cut.out)["text"].get<std::string>();
  CHECK(cut_text.find(stop) != std::string::npos);
  CHECK(cut_text.size() <= text.size());
  CHECK(text.compare(0, cut_text.size(), cut_text) == 0);
  check_clean_error(run_braid("generate --model " + make_checkpoint(tmp.path / "plain").string() + " --prompt hi -n 2"),
                    {"no tokenizer.json or tokenizer.model"});
}
