// models/data/text_data.h and the tokens: form: byte windows, held-out parts disjoint from the
// training windows, bits-per-byte counts, a fake corpus directory, and their errors.
#include <cctype>
#include <fstream>
#include <set>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "models/data/training_data.h"
#include "models/io/npy.h"
#include "tests/data/data_test_util.h"
#include "tests/temp_dir.h"

using namespace braid;
using namespace braid::test;

namespace {

// `n` bytes drawn from the characters of `alphabet`.
std::string random_text(uint64_t seed, int64_t n, const std::string& alphabet) {
  Rng rng(seed);
  std::string s;
  for (int64_t i = 0; i < n; ++i) s += alphabet[rng.below(alphabet.size())];
  return s;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

bool all_of_class(const std::vector<int32_t>& ids, int (*cls)(int)) {
  for (int32_t id : ids)
    if (!cls(id)) return false;
  return true;
}

const std::string kLower = "abcdefghijklmnopqrstuvwxyz", kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

// A corpus of two train domains (a: a–m, b: n–z, each with an upper-case last tenth) and a
// held-out domain c of digits.
void write_corpus(const TempDir& dir, bool wrong_bytes = false, const std::string& c_role = "heldout") {
  write_file(dir / "a.txt", random_text(1, 900, "abcdefghijklm") + random_text(2, 100, kUpper));
  write_file(dir / "b.txt", random_text(3, 450, "nopqrstuvwxyz") + random_text(4, 50, kUpper));
  write_file(dir / "c.txt", random_text(5, 300, "0123456789"));
  const nlohmann::json m{{"format", "braid-corpus"},
                         {"version", 1},
                         {"domains",
                          {{{"name", "a"}, {"bytes", 1000}, {"package", "fake-a"}, {"role", "train"}},
                           {{"name", "b"}, {"bytes", wrong_bytes ? 501 : 500}, {"package", "fake-b"}, {"role", "train"}},
                           {{"name", "c"}, {"bytes", 300}, {"package", "fake-c"}, {"role", c_role}}}}};
  write_file(dir / "manifest.json", m.dump(1));
}

}  // namespace

TEST_CASE("text: byte windows from the first 90%, a held-out last 10% that counts bytes") {
  TempDir dir;
  write_file(dir / "t.txt", random_text(9, 900, kLower) + random_text(10, 100, kUpper));
  const std::string spec = "text:" + (dir / "t.txt");
  const TrainingData d = open_training_data(spec, data_options(4, 16), 256);
  for (int64_t step = 0; step < 200; ++step) {
    const TrainBatch b = d.next_batch(step, 0);
    REQUIRE(b.B == 4);
    REQUIRE(b.T == 16);
    REQUIRE(b.ids.size() == 64);
    CHECK(b.target_bytes == 64);
    // Training windows never touch the held-out (upper-case) part.
    REQUIRE(all_of_class(b.ids, ::islower));
    REQUIRE(all_of_class(b.targets, ::islower));
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t t = 0; t + 1 < 16; ++t) CHECK(b.targets[i * 16 + t] == b.ids[i * 16 + t + 1]);
  }
  REQUIRE(d.eval_sets.size() == 1);
  const EvalSet& h = d.eval_sets[0];
  CHECK(h.name == "heldout");
  int64_t rows = 0;
  for (const TrainBatch& b : h.batches) {
    CHECK(b.T == 16);
    CHECK(b.target_bytes == b.B * b.T);
    CHECK(all_of_class(b.ids, ::isupper));
    CHECK(all_of_class(b.targets, ::isupper));
    rows += b.B;
  }
  CHECK(rows == 6);  // ⌊(100 − 1) / 16⌋ windows fit without a byte counted twice
  CHECK(h.batches.size() == 2);

  // Same (seed, step, micro), same batch; other step or micro, another batch.
  const TrainingData again = open_training_data(spec, data_options(4, 16), 256);
  CHECK(same_batch(d.next_batch(3, 1), again.next_batch(3, 1)));
  CHECK(!same_batch(d.next_batch(3, 1), d.next_batch(4, 1)));
  CHECK(!same_batch(d.next_batch(3, 0), d.next_batch(3, 1)));
}

TEST_CASE("text: errors name the vocabulary, the file and a too-long seq_len") {
  TempDir dir;
  write_file(dir / "t.txt", random_text(9, 100, kLower));
  const std::string spec = "text:" + (dir / "t.txt");
  CHECK(error_of([&] { open_training_data(spec, data_options(2, 8), 32); }) ==
        "--data " + spec + ": byte-level text needs vocab_size ≥ 256 (one id per byte), the model has vocab_size 32");
  CHECK(error_of([&] { open_training_data(spec, data_options(2, 90), 256); }).find("shorter than seq_len + 1 = 91") !=
        std::string::npos);
  CHECK(error_of([&] { open_training_data("text:" + (dir / "none.txt"), data_options(2, 8), 256); })
            .find("none.txt: no such file") != std::string::npos);
  CHECK(error_of([&] { open_training_data("text:", data_options(2, 8), 256); }).find("text needs a path") !=
        std::string::npos);
}

TEST_CASE("corpus: train domains' first 90%, valid/<domain> sets from their last 10%, heldout/<domain> whole") {
  TempDir dir;
  write_corpus(dir);
  const TrainingData d = open_training_data("corpus:" + dir.path.string(), data_options(4, 20, 5, 3), 256);
  std::set<char> seen_a, seen_b;
  for (int64_t step = 0; step < 100; ++step) {
    const TrainBatch b = d.next_batch(step, 0);
    REQUIRE(all_of_class(b.ids, ::islower));
    REQUIRE(all_of_class(b.targets, ::islower));
    CHECK(b.target_bytes == 80);
    for (int64_t i = 0; i < 4; ++i) {
      const bool in_a = b.ids[i * 20] <= 'm';
      for (int64_t t = 0; t < 20; ++t) {
        CHECK((b.targets[i * 20 + t] <= 'm') == in_a);  // a window never spans two domains
        (in_a ? seen_a : seen_b).insert(static_cast<char>(b.ids[i * 20 + t]));
      }
    }
  }
  CHECK(!seen_a.empty());  // both train domains are drawn
  CHECK(!seen_b.empty());

  std::vector<std::string> names;
  for (const EvalSet& s : d.eval_sets) names.push_back(s.name);
  CHECK(names == std::vector<std::string>{"valid/a", "valid/b", "heldout/c"});
  for (const EvalSet& s : d.eval_sets) {
    CAPTURE(s.name);
    int64_t rows = 0;
    for (const TrainBatch& b : s.batches) {
      CHECK(b.target_bytes == b.B * b.T);
      CHECK(all_of_class(b.targets, s.name == "heldout/c" ? ::isdigit : ::isupper));
      CHECK(all_of_class(b.ids, s.name == "heldout/c" ? ::isdigit : ::isupper));
      rows += b.B;
    }
    CHECK(rows == (s.name == "valid/a" ? 4 : s.name == "valid/b" ? 2 : 12));  // ⌊(len − 1) / 20⌋, ≤ 3 × 4
  }
}

TEST_CASE("corpus: a stale manifest, a bad role, a missing manifest and a byte vocabulary fail clearly") {
  {
    TempDir dir;
    write_corpus(dir, /*wrong_bytes=*/true);
    const std::string e = error_of([&] { open_training_data("corpus:" + dir.path.string(), data_options(2, 8), 256); });
    CHECK(e.find("b.txt has 500 bytes but the manifest lists 501") != std::string::npos);
  }
  {
    TempDir dir;
    write_corpus(dir, false, "test");
    const std::string e = error_of([&] { open_training_data("corpus:" + dir.path.string(), data_options(2, 8), 256); });
    CHECK(e.find("domain c has role \"test\" (expected train or heldout)") != std::string::npos);
  }
  {
    TempDir dir;
    const std::string e = error_of([&] { open_training_data("corpus:" + dir.path.string(), data_options(2, 8), 256); });
    CHECK(e.find("manifest.json: no such file") != std::string::npos);
  }
  {
    TempDir dir;
    write_corpus(dir);
    const std::string e = error_of([&] { open_training_data("corpus:" + dir.path.string(), data_options(2, 8), 100); });
    CHECK(e.find("vocab_size ≥ 256") != std::string::npos);
    CHECK(e.find("vocab_size 100") != std::string::npos);
  }
}

TEST_CASE("tokens: rows of an .npy file, the last tenth held out (unchanged form)") {
  TempDir dir;
  std::vector<int64_t> ids(20 * 12);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>(i / 12);  // row r holds r
  write_npy_i64(dir / "ids.npy", Shape{20, 12}, ids.data());
  const TrainingData d = open_training_data("tokens:" + (dir / "ids.npy"), data_options(3, 8), 32);
  for (int64_t step = 0; step < 50; ++step) {
    const TrainBatch b = d.next_batch(step, 0);
    REQUIRE(b.B == 3);
    REQUIRE(b.T == 8);
    for (int32_t id : b.ids) CHECK(id < 18);  // rows 18 and 19 are held out
  }
  REQUIRE(d.eval_sets.size() == 1);
  CHECK(d.eval_sets[0].name == "heldout");
  CHECK(d.eval_sets[0].batches.size() == 2);
  CHECK(d.eval_sets[0].batches[0].ids[0] == 18);
}
