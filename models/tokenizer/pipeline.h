// models/tokenizer/pipeline.h — the stages of an HF tokenizer.json between the added-token
// split and the model: normalizers, pre-tokenizers and decoders, each built from its JSON
// object. Semantics follow HF tokenizers 0.22 (normalizers/, pre_tokenizers/, decoders/).
//
//   normalizers    Sequence, Prepend, Replace (String or Regex pattern), NFC, NFD, NFKC, NFKD
//                  and Lowercase (through ICU)
//   pre-tokenizers Sequence, ByteLevel (add_prefix_space, use_regex: the GPT-2 split),
//                  Split (String or Regex; behavior removed | isolated | merged_with_previous |
//                  merged_with_next | contiguous; invert), Metaspace (replacement,
//                  prepend_scheme always | first | never, split), Digits (individual_digits)
//   decoders       Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace
// Any other "type" is an error naming it and its place in the file.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace braid {

// A span of text moving through the pipeline, and whether it starts the input (HF:
// offsets_original().0 == 0, what Metaspace's prepend_scheme "first" asks). Empty pieces are
// dropped at every split, as HF's PreTokenizedString does.
struct Piece {
  std::string text;
  bool at_start = false;
};

using Normalizer = std::function<void(std::string&)>;
using PreTokenizer = std::function<void(std::vector<Piece>&)>;
using Decoder = std::function<void(std::vector<std::string>&)>;  // tokens in, tokens out (joined at the end)

// A null JSON value gives the identity. `where` names the file and field in errors.
Normalizer make_normalizer(const nlohmann::json& j, const std::string& where);
PreTokenizer make_pre_tokenizer(const nlohmann::json& j, const std::string& where);
Decoder make_decoder(const nlohmann::json& j, const std::string& where);

// GPT-2's byte-to-unicode table (the ByteLevel pre-tokenizer and decoder): byte b ↦ a
// printable code point, UTF-8 encoded.
const std::string& byte_level_char(unsigned char b);

}  // namespace braid
