// models/tokenizer/bpe.h — the BPE model of tokenizer.json (HF models/bpe/model.rs, word.rs).
//
// A piece is split into characters (code points; with continuing_subword_prefix on every
// character but the first, end_of_word_suffix on the last). A character missing from the
// vocabulary becomes its bytes' <0xXX> tokens with byte_fallback, else unk_token (runs of
// unknowns fused into one with fuse_unk). Then the lowest-ranked merge is applied
// repeatedly, the leftmost first among equal ranks, until none applies. With ignore_merges a
// piece that is itself in the vocabulary is one token. Merges are read in both JSON forms,
// "a b" strings and ["a", "b"] pairs. Pieces of up to 256 bytes are cached.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace braid {

class BpeModel {
 public:
  BpeModel(const nlohmann::json& model, const std::string& where);

  void encode(std::string_view piece, std::vector<int32_t>& out) const;

  const std::string* id_to_token(int32_t id) const;
  const int32_t* token_to_id(const std::string& token) const;
  int64_t max_id() const { return max_id_; }

 private:
  void merge_word(std::string_view piece, std::vector<int32_t>& out) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<int32_t, std::string> vocab_r_;
  std::unordered_map<uint64_t, std::pair<uint32_t, int32_t>> merges_;  // (a, b) → (rank, merged id)
  std::string unk_, prefix_, suffix_;
  bool has_unk_ = false, fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  int32_t byte_ids_[256];  // <0xXX> ids with byte_fallback, −1 where missing
  int64_t max_id_ = -1;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace braid
