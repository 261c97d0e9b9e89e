// tests/tokenizer: braid's tokenizer against HF tokenizers, exact to the id. Every folder of
// tests/fixtures/tokenizer/ holds a tokenizer (tokenizer.json, or tokenizer.model for
// sentencepiece) and cases.json, written by tests/tokenizer/make_fixtures.py with HF tokenizers
// (and the sentencepiece library): for each text, the ids without special tokens, the decoded
// text, and where a post-processor adds tokens the ids with them. Then the unsupported
// components and bad inputs, each a clear error.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "models/tokenizer/pipeline.h"
#include "models/tokenizer/tokenizer.h"
#include "models/tokenizer/utf8.h"
#include "tests/test_helpers.h"

namespace fs = std::filesystem;
using nlohmann::json;
using braid::test::base64_decode;
using braid::test::error_of;

namespace {

fs::path fixtures() {
  const char* dir = std::getenv("BRAID_FIXTURES");
  REQUIRE_MESSAGE(dir, "BRAID_FIXTURES is not set (meson test sets it)");
  return fs::path(dir) / "tokenizer";
}

json read_json(const fs::path& p) {
  std::ifstream f(p);
  REQUIRE_MESSAGE(f, p.string());
  return json::parse(f);
}

braid::Tokenizer tokenizer_from(const json& j) { return braid::Tokenizer::from_json(j, "test.json"); }

// A minimal valid tokenizer.json around a BPE vocabulary of single characters.
json minimal(json pre_tokenizer = nullptr, json decoder = nullptr) {
  return {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}}}, {"merges", {"a b"}}}},
          {"pre_tokenizer", pre_tokenizer},
          {"decoder", decoder}};
}

}  // namespace

TEST_CASE("tokenizer: every fixture folder encodes and decodes exactly as HF tokenizers") {
  int folders = 0;
  for (const auto& entry : fs::directory_iterator(fixtures())) {
    if (!entry.is_directory() || !fs::exists(entry.path() / "cases.json")) continue;
    ++folders;
    const std::string name = entry.path().filename().string();
    const braid::Tokenizer tok = braid::Tokenizer::from_file(entry.path().string());
    const json cases = read_json(entry.path() / "cases.json");
    REQUIRE_MESSAGE(cases.size() >= 10, name);
    int checked = 0;
    for (const json& c : cases) {
      const std::string text = base64_decode(c.at("text_b64").get<std::string>());
      INFO(name << " / " << c.value("name", "?"));
      const std::vector<int32_t> ids = tok.encode(text);
      CHECK(ids == c.at("ids").get<std::vector<int32_t>>());
      CHECK(tok.decode(c.at("ids").get<std::vector<int32_t>>()) == c.at("decoded").get<std::string>());
      if (c.value("roundtrip", false)) CHECK(tok.decode(ids) == text);
      if (c.contains("ids_with_special"))
        CHECK(tok.encode(text, true) == c["ids_with_special"].get<std::vector<int32_t>>());
      ++checked;
    }
    MESSAGE(name << ": " << checked << " cases");
  }
  CHECK(folders >= 5);
}

TEST_CASE("tokenizer: decoding arbitrary id lists (single ids, cut characters, invalid byte runs) matches HF") {
  int folders = 0;
  for (const auto& entry : fs::directory_iterator(fixtures())) {
    if (!entry.is_directory() || !fs::exists(entry.path() / "decode_cases.json")) continue;
    ++folders;
    const braid::Tokenizer tok = braid::Tokenizer::from_file(entry.path().string());
    const json cases = read_json(entry.path() / "decode_cases.json");
    for (const json& c : cases) {
      INFO(entry.path().filename().string() << " / " << c.value("name", "?"));
      const auto ids = c.at("ids").get<std::vector<int32_t>>();
      CHECK(tok.decode(ids) == c.at("decoded").get<std::string>());
      if (c.contains("decoded_skip_special")) CHECK(tok.decode(ids, true) == c["decoded_skip_special"].get<std::string>());
    }
  }
  CHECK(folders >= 5);
}

TEST_CASE("tokenizer: both merge forms and the streaming decoder") {
  json pairs = minimal();
  pairs["model"]["merges"] = json::array({json::array({"a", "b"})});
  const braid::Tokenizer a = tokenizer_from(minimal()), b = tokenizer_from(pairs);
  CHECK(a.encode("abab") == std::vector<int32_t>{2, 2});
  CHECK(b.encode("abab") == std::vector<int32_t>{2, 2});
  CHECK(a.decode({2, 0, 1}) == "ab a b");  // no decoder: tokens joined by spaces

  // Byte-level text streams: a character split over tokens is held back until complete.
  json bl = {{"model", {{"type", "BPE"}, {"vocab", json::object()}, {"merges", json::array()}}},
             {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
             {"decoder", {{"type", "ByteLevel"}}}};
  for (int byte = 0; byte < 256; ++byte) bl["model"]["vocab"][braid::byte_level_char(static_cast<unsigned char>(byte))] = byte;
  const braid::Tokenizer tok = tokenizer_from(bl);
  const std::string text = "é日";  // 2 + 3 bytes, one token per byte
  const std::vector<int32_t> ids = tok.encode(text);
  REQUIRE(ids.size() == 5);
  braid::StreamDecoder stream(tok);
  std::vector<std::string> pieces;
  for (int32_t id : ids) pieces.push_back(stream.push(id));
  CHECK(pieces == std::vector<std::string>{"", "é", "", "", "日"});
  CHECK(stream.finish().empty());
}

TEST_CASE("bad input: unsupported components, bad merges, invalid UTF-8 and unknown ids are clear errors") {
  CHECK(error_of([] { tokenizer_from(minimal({{"type", "BertPreTokenizer"}})); })
            .find("test.json: pre_tokenizer: pre-tokenizer type 'BertPreTokenizer' is not supported") != std::string::npos);
  CHECK(error_of([] { tokenizer_from(minimal(nullptr, {{"type", "WordPiece"}})); })
            .find("decoder type 'WordPiece' is not supported") != std::string::npos);
  json bert = minimal();
  bert["normalizer"] = {{"type", "BertNormalizer"}};
  CHECK(error_of([&] { tokenizer_from(bert); }).find("normalizer type 'BertNormalizer' is not supported") != std::string::npos);
  json unigram = minimal();
  unigram["model"]["type"] = "Unigram";
  CHECK(error_of([&] { tokenizer_from(unigram); }).find("model type 'Unigram' is not supported") != std::string::npos);
  json bad_merge = minimal();
  bad_merge["model"]["merges"] = {"a c"};
  CHECK(error_of([&] { tokenizer_from(bad_merge); }).find("merges[0]: 'c' is not in the vocabulary") != std::string::npos);
  json bad_regex = minimal({{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}});
  CHECK(error_of([&] { tokenizer_from(bad_regex); }).find("does not compile") != std::string::npos);

  const braid::Tokenizer tok = tokenizer_from(minimal());
  CHECK(error_of([&] { tok.encode(std::string("ab\xff", 3)); }).find("not valid UTF-8 (byte 2") != std::string::npos);
  CHECK(error_of([&] { tok.decode({0, 99}); }).find("token id 99 is not in the vocabulary") != std::string::npos);
  CHECK(error_of([] { braid::Tokenizer::from_file("/nonexistent/tokenizer.json"); }).find("no such file") != std::string::npos);
}

TEST_CASE("utf8: lossy decoding replaces each maximal invalid subpart with one U+FFFD") {
  //            input                         expected
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"abc", "abc"},
      {"\xC3", "\xEF\xBF\xBD"},                          // truncated 2-byte sequence
      {"\xE6\x97", "\xEF\xBF\xBD"},                      // truncated 3-byte sequence: one subpart
      {"\xE6\x97" "a", "\xEF\xBF\xBD" "a"},
      {"\xFF\xFE", "\xEF\xBF\xBD\xEF\xBF\xBD"},          // two invalid bytes
      {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  // a surrogate: three subparts
      {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},          // 😀
  };
  for (const auto& [in, want] : cases) CHECK(braid::utf8::lossy(in) == want);
}
