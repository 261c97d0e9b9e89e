#include "models/ablate/icl_probe.h"

#include <cctype>
#include <fstream>
#include <sstream>

#include "core/rng.h"
#include "core/status.h"
#include "models/data/text_data.h"
#include "models/generate.h"

namespace braid {
namespace {

// The held-out tail of DIR/<domain>.txt: its last ⌈n/10⌉ bytes.
std::string heldout_tail(const std::string& dir, const std::string& domain) {
  const std::string path = dir + "/" + domain + ".txt";
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, ": cannot read the probe's domain (icl_format probe)");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  return text.substr(static_cast<size_t>(text_train_bytes(static_cast<int64_t>(text.size()))));
}

std::string passage(const std::string& tail, size_t bytes, Rng& rng) {
  if (tail.size() <= bytes + 1) fail("icl_format probe: a held-out tail of ", tail.size(), " bytes is too short for passages of ", bytes);
  std::string p = tail.substr(rng.next_u64() % (tail.size() - bytes), bytes);
  for (char& c : p)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return p;
}

// The first word of a continuation: letters after optional spaces.
std::string first_word(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  size_t j = i;
  while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
  return s.substr(i, j - i);
}

}  // namespace

nlohmann::json run_icl_format_probe(HybridModel& model, const nlohmann::json& probe, const std::string& corpus_dir) {
  if (model.config().vocab_size < 256) fail("icl_format probe: needs a byte-level model (vocab_size ≥ 256)");
  const std::string dir = probe.value("corpus", corpus_dir);
  if (dir.empty()) fail("icl_format probe: no corpus (set \"corpus\" or train on corpus:DIR)");
  const std::vector<std::string> labels = probe.value("labels", std::vector<std::string>{"Positive", "Negative"});
  if (labels.size() != 2 || labels[0].empty() || labels[1].empty() || labels[0] == labels[1])
    fail("icl_format probe: \"labels\" must be two different words");
  const int64_t shots = probe.value("shots", int64_t{4}), prompts = probe.value("prompts", int64_t{64});
  const int64_t max_new = probe.value("max_new", int64_t{10});
  const size_t bytes = probe.value("passage_bytes", size_t{80});
  if (shots < 1 || prompts < 1 || max_new < 1 || bytes < 8) fail("icl_format probe: shots, prompts, max_new ≥ 1 and passage_bytes ≥ 8");
  const std::string tails[2] = {heldout_tail(dir, probe.value("positive", "bible")),
                                heldout_tail(dir, probe.value("negative", "fortunes"))};
  Rng rng(probe.value("seed", uint64_t{7}));

  std::vector<std::vector<int32_t>> ids;
  std::vector<int> truth;
  for (int64_t p = 0; p < prompts; ++p) {
    std::string text;
    for (int64_t s = 0; s < shots; ++s) {
      const int cls = static_cast<int>((s + (rng.next_u64() & 1)) % 2);
      text += "Text: " + passage(tails[cls], bytes, rng) + "\nLabel: " + labels[cls] + "\n\n";
    }
    const int cls = static_cast<int>(rng.next_u64() & 1);
    text += "Text: " + passage(tails[cls], bytes, rng) + "\nLabel:";
    ids.emplace_back(text.begin(), text.end());
    for (int32_t& id : ids.back()) id &= 0xff;
    truth.push_back(cls);
  }
  const GenerationResult r = generate(model, ids, max_new, SamplingOptions{});
  int64_t adherent = 0, correct = 0;
  nlohmann::json examples = nlohmann::json::array();
  for (size_t p = 0; p < ids.size(); ++p) {
    std::string out;
    for (size_t t = ids[p].size(); t < r.tokens[p].size(); ++t) out += static_cast<char>(r.tokens[p][t]);
    const std::string word = first_word(out);
    adherent += word == labels[0] || word == labels[1];
    correct += word == labels[truth[p]];
    if (examples.size() < 8) examples.push_back(word);
  }
  const double n = static_cast<double>(prompts);
  return {{"format_adherence", adherent / n}, {"accuracy", correct / n}, {"prompts", prompts},
          {"shots", shots}, {"labels", labels}, {"first_answers", examples}};
}

}  // namespace braid
