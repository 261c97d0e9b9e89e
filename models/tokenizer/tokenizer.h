// models/tokenizer/tokenizer.h — text in, token ids out, and back, exactly as HF tokenizers
// 0.22 does it for the tokenizer.json files of braid's model families, or through Debian's
// libsentencepiece for a checkpoint that ships only a tokenizer.model.
//
// tokenizer.json pipeline (HF tokenizer/mod.rs, added_vocabulary.rs):
//   1. split the text on the added tokens that are not "normalized" (leftmost-longest match;
//      lstrip / rstrip take the neighbouring whitespace);
//   2. normalize every other piece, then split those on the "normalized" added tokens;
//   3. pre-tokenize the pieces (models/tokenizer/pipeline.h);
//   4. run the model on each piece: BPE (models/tokenizer/bpe.h);
//   5. with add_special_tokens, the post-processor (TemplateProcessing, Roberta/Bert, ByteLevel).
// Decoding maps ids to tokens (added tokens first; skip_special drops special ones), runs the
// decoder chain and joins; without a decoder the tokens are joined by spaces.
// Supported components are listed in pipeline.h and bpe.h; anything else is an error at load
// naming the component and its place in the file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace braid {

class Tokenizer {
 public:
  // A tokenizer.json, a tokenizer.model (sentencepiece), or a directory holding either
  // (tokenizer.json preferred). Errors name the file and the field at fault.
  static Tokenizer from_file(const std::string& path);
  static Tokenizer from_json(const nlohmann::json& j, const std::string& source);
  // True when `dir` holds a tokenizer.json or a tokenizer.model.
  static bool exists_in(const std::string& dir);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // `text` must be valid UTF-8 (the error gives the first bad byte's offset).
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  // Ids outside the vocabulary are an error naming the id.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;

  int64_t vocab_size() const;  // the largest id + 1
  std::optional<int32_t> token_to_id(const std::string& token) const;
  std::string source() const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  static Tokenizer load_json(const nlohmann::json& j, const std::string& source);
  std::unique_ptr<Impl> impl_;
};

// Turns ids into text as they arrive (generation): each call returns the new text that is
// complete, holding back the bytes of a character that later tokens finish. The result of all
// calls plus finish() equals decode() of all ids whenever the decoder is context-free (ByteLevel,
// ByteFallback + Fuse); for decoders that look at the first token (Metaspace, Strip) the first
// pieces are decoded in context too: it re-decodes the whole sequence and emits the new suffix.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok, bool skip_special_tokens = true) : tok_(tok), skip_(skip_special_tokens) {}
  std::string push(int32_t id);
  std::string finish();

 private:
  const Tokenizer& tok_;
  bool skip_;
  std::vector<int32_t> ids_;
  size_t emitted_ = 0;  // bytes of decode(ids_) already returned
};

}  // namespace braid
