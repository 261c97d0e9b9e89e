// models/data/synthetic.h and spec.h: the task invariants, determinism in (seed, step, micro),
// the fixed held-out set, and the errors of bad SPECs (each names its key and value).
#include <algorithm>
#include <set>

#include <doctest/doctest.h>

#include "models/data/spec.h"
#include "models/data/training_data.h"
#include "tests/data/data_test_util.h"

using namespace braid;
using namespace braid::test;

namespace {

// Every row of steps 0..3 (and the held-out set) of `spec`.
std::vector<TrainBatch> batches_of(const std::string& spec, const DataOptions& opt, int64_t vocab) {
  const TrainingData d = open_training_data(spec, opt, vocab);
  std::vector<TrainBatch> out;
  for (int64_t step = 0; step < 4; ++step) out.push_back(d.next_batch(step, 0));
  REQUIRE(d.eval_sets.size() == 1);
  CHECK(d.eval_sets[0].name == "heldout");
  CHECK(static_cast<int64_t>(d.eval_sets[0].batches.size()) == opt.eval_batches);
  for (const TrainBatch& b : d.eval_sets[0].batches) out.push_back(b);
  for (const TrainBatch& b : out) {
    REQUIRE(b.B == opt.batch);
    REQUIRE(b.T == opt.seq_len);
    REQUIRE(b.ids.size() == static_cast<size_t>(b.B * b.T));
    REQUIRE(b.targets.size() == b.ids.size());
    CHECK(b.target_bytes == 0);
    for (int32_t id : b.ids) REQUIRE((id >= 0 && id < vocab));
  }
  return out;
}

}  // namespace

TEST_CASE("spec parser: kind, path and key=value pairs; malformed, repeated, mistyped and unknown keys fail") {
  const DataSpec s = parse_data_spec("corpus:dir/with:colon");
  CHECK(s.kind == "corpus");
  CHECK(s.arg == "dir/with:colon");
  CHECK(parse_data_spec("induction").arg.empty());

  SpecParams p(parse_data_spec("mqar:vocab=64,power_a=0.5,random_non_queries=0"));
  CHECK(p.take_int("vocab", 1) == 64);
  CHECK(p.take_int("num_kv_pairs", 8) == 8);
  CHECK(p.take_double("power_a", 0.01) == 0.5);
  CHECK(p.take_bool("random_non_queries", true) == false);
  p.finish();

  CHECK(error_of([] { SpecParams q(parse_data_spec("mqar:vocab=64,vocab=32")); }).find("key vocab is given twice") !=
        std::string::npos);
  CHECK(error_of([] { SpecParams q(parse_data_spec("mqar:vocab=64,")); }).find("expected key=value") != std::string::npos);
  CHECK(error_of([] {
          SpecParams q(parse_data_spec("mqar:vocab=6x4"));
          q.take_int("vocab", 1);
        }) == "--data mqar:vocab=6x4: vocab = 6x4 is not an integer");
  const std::string unknown = error_of([] {
    SpecParams q(parse_data_spec("mqar:vocab=64,kv=8"));
    q.take_int("vocab", 1);
    q.finish();
  });
  CHECK(unknown.find("--data mqar:vocab=64,kv=8: unknown key kv") == 0);
  CHECK(unknown.find("known keys: vocab") != std::string::npos);
}

TEST_CASE("mqar: every query key appeared in the context with the value it is answered by") {
  const int64_t K = 6, T = 64, V = 64;
  for (const char* fill : {"1", "0"}) {
    for (const TrainBatch& b : batches_of("mqar:vocab=64,num_kv_pairs=6,random_non_queries=" + std::string(fill),
                                          data_options(4, T), V)) {
      for (int64_t r = 0; r < b.B; ++r) {
        const int32_t* ids = b.ids.data() + r * T;
        const int32_t* tg = b.targets.data() + r * T;
        std::set<int32_t> keys, values;
        for (int64_t i = 0; i < K; ++i) {
          CHECK((ids[2 * i] >= 1 && ids[2 * i] < V / 2));
          CHECK((ids[2 * i + 1] >= V / 2 && ids[2 * i + 1] < V));
          keys.insert(ids[2 * i]);
          values.insert(ids[2 * i + 1]);
        }
        CHECK(keys.size() == static_cast<size_t>(K));  // distinct keys and values
        CHECK(values.size() == static_cast<size_t>(K));
        std::set<int32_t> queried;
        for (int64_t t = 0; t < T; ++t) {
          if (tg[t] < 0) continue;
          REQUIRE(t >= 2 * K);  // queries follow the context, at even positions
          CHECK(t % 2 == 0);
          bool found = false;
          for (int64_t p = 0; p < 2 * K; p += 2) found = found || (ids[p] == ids[t] && ids[p + 1] == tg[t]);
          CHECK_MESSAGE(found, "row ", r, " position ", t, ": key ", ids[t], " answered ", tg[t]);
          queried.insert(ids[t]);
        }
        CHECK(queried == keys);  // each key queried exactly once
        if (std::string(fill) == "0")
          for (int64_t t = 2 * K; t < T; ++t)
            if (tg[t] < 0) CHECK(ids[t] == 0);
      }
    }
  }
}

TEST_CASE("mqar: query gaps follow the power law (short gaps far more often than long ones)") {
  const int64_t K = 4, T = 128;
  int64_t first_half = 0, second_half = 0;
  const TrainingData d = open_training_data("mqar:vocab=256,num_kv_pairs=4", data_options(16, T), 256);
  for (int64_t step = 0; step < 20; ++step) {
    const TrainBatch b = d.next_batch(step, 0);
    for (int64_t i = 0; i < b.B * T; ++i)
      if (b.targets[i] >= 0) ((i % T - 2 * K) / 2 < (T - 2 * K) / 4 ? first_half : second_half)++;
  }
  CHECK(first_half + second_half == 20 * 16 * K);
  CHECK(first_half > 2 * second_half);
}

TEST_CASE("selective copying: the targets at the markers are the content tokens in order") {
  const int64_t M = 5, T = 40;
  for (const TrainBatch& b : batches_of("selective_copy:vocab=10,num_tokens=5,noise=3", data_options(4, T), 16)) {
    for (int64_t r = 0; r < b.B; ++r) {
      const int32_t* ids = b.ids.data() + r * T;
      const int32_t* tg = b.targets.data() + r * T;
      std::vector<int32_t> content;
      for (int64_t t = 0; t < T - M; ++t) {
        CHECK(tg[t] == -1);
        CHECK(ids[t] != 9);  // the marker (vocab − 1) only after the data
        if (ids[t] != 3) content.push_back(ids[t]);
      }
      REQUIRE(content.size() == static_cast<size_t>(M));
      for (int64_t i = 0; i < M; ++i) {
        CHECK(ids[T - M + i] == 9);
        CHECK(tg[T - M + i] == content[i]);
        CHECK((content[i] >= 0 && content[i] < 9 && content[i] != 3));
      }
    }
  }
}

TEST_CASE("induction heads: the answer is the token after the earlier trigger") {
  const int64_t T = 32;
  for (const TrainBatch& b : batches_of("induction:vocab=8,trigger=2", data_options(4, T), 16)) {
    for (int64_t r = 0; r < b.B; ++r) {
      const int32_t* ids = b.ids.data() + r * T;
      const int32_t* tg = b.targets.data() + r * T;
      CHECK(ids[T - 1] == 2);
      std::vector<int64_t> triggers;
      for (int64_t t = 0; t < T; ++t) {
        if (ids[t] == 2) triggers.push_back(t);
        if (t < T - 1) CHECK(tg[t] == -1);
        CHECK(ids[t] < 8);
      }
      REQUIRE(triggers.size() == 2);  // once inside, once at the end
      CHECK(triggers[0] <= T - 3);
      CHECK(tg[T - 1] == ids[triggers[0] + 1]);
      CHECK(tg[T - 1] != 2);
    }
  }
}

TEST_CASE("synthetic batches are a function of (seed, step, micro); the held-out set is fixed and apart") {
  for (const char* spec : {"mqar:vocab=64,num_kv_pairs=4", "selective_copy", "induction"}) {
    CAPTURE(spec);
    const TrainingData a = open_training_data(spec, data_options(4, 48, 7), 64);
    const TrainingData b = open_training_data(spec, data_options(4, 48, 7), 64);
    const TrainingData other_seed = open_training_data(spec, data_options(4, 48, 8), 64);
    CHECK(same_batch(a.next_batch(5, 1), b.next_batch(5, 1)));
    CHECK(!same_batch(a.next_batch(5, 1), a.next_batch(6, 1)));
    CHECK(!same_batch(a.next_batch(5, 0), a.next_batch(5, 1)));
    CHECK(!same_batch(a.next_batch(5, 1), other_seed.next_batch(5, 1)));
    REQUIRE(a.eval_sets.size() == 1);
    REQUIRE(a.eval_sets[0].batches.size() == 2);
    for (size_t i = 0; i < 2; ++i) {
      CHECK(same_batch(a.eval_sets[0].batches[i], b.eval_sets[0].batches[i]));
      for (int64_t step = 0; step < 4; ++step) CHECK(!same_batch(a.eval_sets[0].batches[i], a.next_batch(step, 0)));
    }
  }
}

TEST_CASE("bad synthetic SPECs fail naming the key and value") {
  const auto err = [](const std::string& spec, int64_t seq_len, int64_t vocab = 64) {
    return error_of([&] { open_training_data(spec, data_options(2, seq_len), vocab); });
  };
  CHECK(err("mqar:num_kv_pairs=99", 256, 512) ==
        "--data mqar:num_kv_pairs=99: num_kv_pairs = 99 needs seq_len ≥ 4·num_kv_pairs = 396, got --seq-len 256");
  CHECK(err("mqar:vocab=64", 63).find("needs an even seq_len, got --seq-len 63") != std::string::npos);
  CHECK(err("mqar:vocab=128", 64).find("vocab = 128 exceeds the model's vocab_size 64") != std::string::npos);
  CHECK(err("mqar:vocab=16,num_kv_pairs=8", 64).find("num_kv_pairs = 8 needs vocab ≥ 18") != std::string::npos);
  CHECK(err("mqar:num_kv_pairs=0", 64).find("num_kv_pairs = 0 must be ≥ 1") != std::string::npos);
  CHECK(err("mqar:power_a=-1", 64).find("power_a = -1 must be > 0") != std::string::npos);
  CHECK(err("mqar:kv=8", 64).find("--data mqar:kv=8: unknown key kv") == 0);
  CHECK(err("selective_copy:num_tokens=20", 32).find("num_tokens = 20 needs seq_len ≥ 2·num_tokens = 40, got --seq-len 32") !=
        std::string::npos);
  CHECK(err("selective_copy:noise=16", 64).find("noise = 16 is outside [0, vocab = 16)") != std::string::npos);
  CHECK(err("selective_copy:noise=15", 64).find("marker = 15 equals noise = 15") != std::string::npos);
  CHECK(err("selective_copy", 64, 8).find("vocab = 16 exceeds the model's vocab_size 8") != std::string::npos);
  CHECK(err("induction:trigger=20", 64).find("trigger = 20 is outside [0, vocab = 16)") != std::string::npos);
  CHECK(err("induction:vocab=1", 64).find("vocab = 1 is too small") != std::string::npos);
  CHECK(err("induction", 2).find("needs seq_len ≥ 3") != std::string::npos);
  CHECK(err("induction:seq_len=64", 64).find("unknown key seq_len") != std::string::npos);
  CHECK(err("bogus:x=1", 64).find("unknown data kind \"bogus\"") != std::string::npos);
}
