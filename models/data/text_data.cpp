// Byte-level text and corpora; the windows and splits are defined in models/data/text_data.h.
#include "models/data/text_data.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "core/status.h"

namespace braid {
namespace {

// One file of bytes; [0, train_end) is trained on, [train_end, size) is held out (train_end
// is 0 for a held-out domain).
struct ByteDomain {
  std::string name;
  std::string bytes;
  int64_t train_end = 0;
};

std::string read_bytes(const std::string& where, const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(where, path, ": no such file or cannot be read");
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

void check_byte_vocab(const std::string& where, int64_t vocab_size) {
  if (vocab_size < 256)
    fail(where, "byte-level text needs vocab_size ≥ 256 (one id per byte), the model has vocab_size ", vocab_size);
}

// Cuts bytes[start, start + T] into T ids and T next-byte targets appended to `b`.
void cut(const std::string& bytes, int64_t start, int64_t T, TrainBatch& b) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + start;
  for (int64_t t = 0; t < T; ++t) {
    b.ids.push_back(p[t]);
    b.targets.push_back(p[t + 1]);
  }
  b.target_bytes += T;
}

// Evenly spaced windows over bytes[begin, end) (text_data.h), in batches of `batch` rows.
EvalSet eval_windows(const std::string& name, const std::string& bytes, int64_t begin, int64_t end, int64_t seq_len,
                     const DataOptions& opt) {
  const int64_t len = end - begin, T = std::min(seq_len, len - 1);
  EvalSet set{name, {}};
  if (T < 1 || opt.eval_batches < 1) return set;
  const int64_t K = std::min(opt.eval_batches * opt.batch, (len - 1) / T);
  for (int64_t k = 0; k < K; ++k) {
    if (k % opt.batch == 0) {
      set.batches.emplace_back();
      set.batches.back().T = T;
    }
    TrainBatch& b = set.batches.back();
    const int64_t start = begin + (K > 1 ? k * (len - 1 - T) / (K - 1) : 0);
    cut(bytes, start, T, b);
    ++b.B;
  }
  return set;
}

// Training batches over the train parts of `domains`, a row's domain drawn in proportion to
// its number of window starts.
BatchFn window_batches(std::shared_ptr<const std::vector<ByteDomain>> domains, const DataOptions& opt) {
  const int64_t T = opt.seq_len;
  std::vector<int64_t> starts;  // cumulative window starts per domain
  int64_t total = 0;
  for (const ByteDomain& d : *domains) {
    total += d.train_end > T ? d.train_end - T : 0;
    starts.push_back(total);
  }
  return [domains, starts, total, T, opt](int64_t step, int64_t micro) {
    Rng rng(batch_seed(opt.seed, kTrainStream, step, micro));
    TrainBatch b;
    b.B = opt.batch, b.T = T;
    for (int64_t i = 0; i < opt.batch; ++i) {
      int64_t r = static_cast<int64_t>(rng.below(static_cast<uint64_t>(total)));
      const size_t d = static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), r) - starts.begin());
      if (d > 0) r -= starts[d - 1];
      cut((*domains)[d].bytes, r, T, b);
    }
    return b;
  };
}

void check_trainable(const std::string& where, const ByteDomain& d, int64_t seq_len) {
  if (d.train_end < seq_len + 1)
    fail(where, "the training part of ", d.name, " (its first 90%, ", d.train_end,
         " bytes) is shorter than seq_len + 1 = ", seq_len + 1, " bytes; lower --seq-len");
}

}  // namespace

int64_t text_train_bytes(int64_t n) { return n - (n + 9) / 10; }

TrainingData open_text_data(const DataSpec& spec, const DataOptions& opt, int64_t vocab_size) {
  const std::string where = "--data " + spec.text + ": ";
  check_byte_vocab(where, vocab_size);
  auto domains = std::make_shared<std::vector<ByteDomain>>(1);
  ByteDomain& d = (*domains)[0];
  d.name = spec.arg;
  d.bytes = read_bytes(where, spec.arg);
  const int64_t n = static_cast<int64_t>(d.bytes.size());
  d.train_end = text_train_bytes(n);
  check_trainable(where, d, opt.seq_len);
  TrainingData out;
  out.description = "text " + spec.arg + " (" + std::to_string(n) + " bytes, " + std::to_string(n - d.train_end) +
                    " held out)";
  out.eval_sets.push_back(eval_windows("heldout", d.bytes, d.train_end, n, opt.seq_len, opt));
  if (out.eval_sets.back().batches.empty()) out.eval_sets.clear();
  out.next_batch = window_batches(domains, opt);
  return out;
}

TrainingData open_corpus_data(const DataSpec& spec, const DataOptions& opt, int64_t vocab_size) {
  const std::string where = "--data " + spec.text + ": ";
  check_byte_vocab(where, vocab_size);
  const std::string manifest_path = (std::filesystem::path(spec.arg) / "manifest.json").string();
  nlohmann::json m;
  try {
    m = nlohmann::json::parse(read_bytes(where, manifest_path));
  } catch (const nlohmann::json::exception& e) {
    fail(where, manifest_path, ": not valid JSON (", e.what(), ")");
  }
  if (!m.is_object() || m.value("format", "") != "braid-corpus" || !m.contains("domains") || !m["domains"].is_array())
    fail(where, manifest_path, ": expected {\"format\": \"braid-corpus\", \"domains\": [...]} (scripts/make_corpus.sh)");
  auto train = std::make_shared<std::vector<ByteDomain>>();
  std::vector<ByteDomain> heldout;
  std::vector<std::string> names;
  for (const nlohmann::json& e : m["domains"]) {
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || !e.contains("role") ||
        !e["role"].is_string() || !e.contains("bytes") || !e["bytes"].is_number_integer())
      fail(where, manifest_path, ": every domain needs a string name, an integer bytes and a role, got ", e.dump());
    ByteDomain d;
    d.name = e["name"].get<std::string>();
    const std::string role = e["role"].get<std::string>();
    if (d.name.empty() || d.name.find('/') != std::string::npos || d.name[0] == '.')
      fail(where, manifest_path, ": bad domain name \"", d.name, "\"");
    if (std::find(names.begin(), names.end(), d.name) != names.end())
      fail(where, manifest_path, ": domain ", d.name, " is listed twice");
    names.push_back(d.name);
    if (role != "train" && role != "heldout")
      fail(where, manifest_path, ": domain ", d.name, " has role \"", role, "\" (expected train or heldout)");
    const std::string file = (std::filesystem::path(spec.arg) / (d.name + ".txt")).string();
    d.bytes = read_bytes(where, file);
    const int64_t n = static_cast<int64_t>(d.bytes.size()), listed = e["bytes"].get<int64_t>();
    if (n != listed)
      fail(where, file, " has ", n, " bytes but the manifest lists ", listed, " (rebuild with scripts/make_corpus.sh)");
    if (role == "train") {
      d.train_end = text_train_bytes(n);
      check_trainable(where, d, opt.seq_len);
      train->push_back(std::move(d));
    } else {
      if (n < 2) fail(where, "held-out domain ", d.name, " has ", n, " bytes, needs at least 2");
      heldout.push_back(std::move(d));
    }
  }
  if (train->empty()) fail(where, manifest_path, ": no domain has role \"train\"");

  TrainingData out;
  int64_t train_bytes = 0;
  for (const ByteDomain& d : *train) {
    train_bytes += d.train_end;
    EvalSet s = eval_windows("valid/" + d.name, d.bytes, d.train_end, static_cast<int64_t>(d.bytes.size()), opt.seq_len, opt);
    if (!s.batches.empty()) out.eval_sets.push_back(std::move(s));
  }
  for (const ByteDomain& d : heldout) {
    EvalSet s = eval_windows("heldout/" + d.name, d.bytes, 0, static_cast<int64_t>(d.bytes.size()), opt.seq_len, opt);
    if (!s.batches.empty()) out.eval_sets.push_back(std::move(s));
  }
  out.description = "corpus " + spec.arg + " (" + std::to_string(train->size()) + " train domains, " +
                    std::to_string(train_bytes) + " training bytes, " + std::to_string(heldout.size()) +
                    " held-out domains)";
  out.next_batch = window_batches(train, opt);
  return out;
}

}  // namespace braid
