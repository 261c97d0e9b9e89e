// Fuzz target: tokenizer.json. With the first byte even the input is a tokenizer.json that is
// loaded and run on fixed texts (and its ids decoded); odd, the input is text for the fixture
// tokenizers (tests/fixtures/tokenizer, found through BRAID_FIXTURES or the source tree), which
// must round-trip exactly through the byte-level one.
#include <cstdlib>
#include <memory>
#include <vector>

#include "core/status.h"
#include "models/tokenizer/tokenizer.h"
#include "models/tokenizer/utf8.h"

namespace {

const std::vector<std::unique_ptr<braid::Tokenizer>>& fixtures() {
  static const auto toks = [] {
    std::vector<std::unique_ptr<braid::Tokenizer>> v;
    const char* env = std::getenv("BRAID_FIXTURES");
    const std::string root = std::string(env ? env : BRAID_SOURCE_ROOT "/tests/fixtures") + "/tokenizer/";
    for (const char* name : {"bytelevel-gpt2", "bytelevel-llama3", "sp-bpe-bytefallback", "sp-bpe-metaspace"})
      v.push_back(std::make_unique<braid::Tokenizer>(braid::Tokenizer::from_file(root + name)));
    return v;
  }();
  return toks;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    if (!braid::utf8::is_valid(rest)) return 0;
    for (const auto& tok : fixtures()) {
      const std::vector<int32_t> ids = tok->encode(rest);
      const std::string back = tok->decode(ids);
      if (tok == fixtures().front() && back != rest) std::abort();  // byte-level BPE is lossless
    }
    return 0;
  }
  try {
    const nlohmann::json j = nlohmann::json::parse(rest, nullptr, false);
    if (j.is_discarded()) return 0;
    const braid::Tokenizer tok = braid::Tokenizer::from_json(j, "fuzz.json");
    for (const char* text : {"", "Hello world", "  two\n\nlines\t", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac <s>x</s>"}) {
      const std::vector<int32_t> ids = tok.encode(text, false);
      tok.decode(ids);
      tok.encode(text, true);
    }
  } catch (const braid::Error&) {
  }
  return 0;
}
