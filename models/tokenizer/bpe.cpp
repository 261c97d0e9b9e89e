#include "models/tokenizer/bpe.h"

#include <cstdio>
#include <queue>

#include "core/status.h"
#include "models/tokenizer/utf8.h"

namespace braid {
namespace {

constexpr size_t kCachedPieceBytes = 256, kCacheEntries = 1 << 18;

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }

struct Symbol {
  int32_t id;
  int prev, next;
  bool alive = true;
};

struct Candidate {  // a merge at symbol `pos` (with its right neighbour)
  uint32_t rank;
  int pos;
  int32_t new_id;
  bool operator<(const Candidate& o) const {  // priority_queue pops the largest: lowest rank, then leftmost
    return rank != o.rank ? rank > o.rank : pos > o.pos;
  }
};

}  // namespace

BpeModel::BpeModel(const nlohmann::json& m, const std::string& where) {
  if (m.value("type", "BPE") != "BPE") fail(where, ": model type '", m.value("type", ""), "' is not supported (supported: BPE)");
  if (m.contains("dropout") && !m["dropout"].is_null() && m["dropout"].get<double>() > 0)
    fail(where, ": BPE dropout is random at encoding time and is not supported");
  if (!m.contains("vocab") || !m["vocab"].is_object()) fail(where, ".vocab: expected an object of token → id");
  for (auto it = m["vocab"].begin(); it != m["vocab"].end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0)
      fail(where, ".vocab[\"", it.key(), "\"]: the id must be a non-negative integer");
    const int32_t id = it.value().get<int32_t>();
    vocab_[it.key()] = id;
    vocab_r_[id] = it.key();
    max_id_ = std::max<int64_t>(max_id_, id);
  }
  if (m.contains("unk_token") && m["unk_token"].is_string()) {
    unk_ = m["unk_token"].get<std::string>();
    has_unk_ = true;
  }
  if (m.contains("continuing_subword_prefix") && m["continuing_subword_prefix"].is_string())
    prefix_ = m["continuing_subword_prefix"].get<std::string>();
  if (m.contains("end_of_word_suffix") && m["end_of_word_suffix"].is_string())
    suffix_ = m["end_of_word_suffix"].get<std::string>();
  fuse_unk_ = m.value("fuse_unk", false);
  byte_fallback_ = m.value("byte_fallback", false);
  ignore_merges_ = m.value("ignore_merges", false);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    auto it = vocab_.find(name);
    byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
  }
  const nlohmann::json& merges = m.contains("merges") ? m["merges"] : nlohmann::json::array();
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    std::string a, b;
    const nlohmann::json& e = merges[rank];
    if (e.is_string()) {  // legacy "a b"
      const std::string s = e.get<std::string>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        fail(where, ".merges[", rank, "]: \"", s, "\" is not two tokens separated by one space");
      a = s.substr(0, sp), b = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      a = e[0].get<std::string>(), b = e[1].get<std::string>();
    } else {
      fail(where, ".merges[", rank, "]: expected \"a b\" or [\"a\", \"b\"]");
    }
    auto ia = vocab_.find(a), ib = vocab_.find(b);
    if (ia == vocab_.end() || ib == vocab_.end())
      fail(where, ".merges[", rank, "]: '", ia == vocab_.end() ? a : b, "' is not in the vocabulary");
    const std::string merged = a + (prefix_.empty() || b.compare(0, prefix_.size(), prefix_) != 0 ? b : b.substr(prefix_.size()));
    auto im = vocab_.find(merged);
    if (im == vocab_.end()) fail(where, ".merges[", rank, "]: the merged token '", merged, "' is not in the vocabulary");
    merges_.insert_or_assign(pair_key(ia->second, ib->second), std::make_pair(static_cast<uint32_t>(rank), im->second));  // a repeated merge: the last rank wins, as in HF
  }
  if (has_unk_ && !vocab_.count(unk_)) fail(where, ".unk_token: '", unk_, "' is not in the vocabulary");
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  auto it = vocab_r_.find(id);
  return it == vocab_r_.end() ? nullptr : &it->second;
}

const int32_t* BpeModel::token_to_id(const std::string& token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? nullptr : &it->second;
}

void BpeModel::encode(std::string_view piece, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    auto it = vocab_.find(std::string(piece));
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  if (piece.size() > kCachedPieceBytes) return merge_word(piece, out);
  const std::string key(piece);
  if (auto it = cache_.find(key); it != cache_.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
    return;
  }
  std::vector<int32_t> ids;
  merge_word(piece, ids);
  if (cache_.size() < kCacheEntries) cache_.emplace(key, ids);
  out.insert(out.end(), ids.begin(), ids.end());
}

void BpeModel::merge_word(std::string_view w, std::vector<int32_t>& out) const {
  std::vector<Symbol> sym;
  sym.reserve(w.size());
  auto add = [&](int32_t id) { sym.push_back({id, static_cast<int>(sym.size()) - 1, static_cast<int>(sym.size()) + 1}); };
  bool pending_unk = false;  // an unknown (run) not yet added: HF adds it before the next known character
  const int32_t unk_id = has_unk_ ? vocab_.at(unk_) : -1;
  std::string s;
  for (size_t i = 0; i < w.size();) {
    const size_t n = utf8::char_length(w, i);
    const bool first = i == 0, last = i + n == w.size();
    s.assign(first ? "" : prefix_);
    s.append(w.substr(i, n));
    if (last) s += suffix_;
    i += n;
    if (auto it = vocab_.find(s); it != vocab_.end()) {
      if (pending_unk) add(unk_id), pending_unk = false;
      add(it->second);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (unsigned char c : s) all &= byte_ids_[c] >= 0;
      if (all) {
        for (unsigned char c : s) add(byte_ids_[c]);
        continue;
      }
    }
    if (has_unk_) {
      if (pending_unk && !fuse_unk_) add(unk_id);
      pending_unk = true;
    }
  }
  if (pending_unk) add(unk_id);
  if (sym.empty()) return;
  sym.back().next = -1;

  std::priority_queue<Candidate> queue;
  auto offer = [&](int pos) {
    const int nx = sym[pos].next;
    if (nx < 0) return;
    auto it = merges_.find(pair_key(sym[pos].id, sym[nx].id));
    if (it != merges_.end()) queue.push({it->second.first, pos, it->second.second});
  };
  for (int p = 0; p + 1 < static_cast<int>(sym.size()); ++p) offer(p);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = sym[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = sym[left.next];
    auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.second != top.new_id) continue;  // a stale entry
    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) sym[right.next].prev = top.pos;
    if (left.prev >= 0) offer(left.prev);
    offer(top.pos);
  }
  for (const Symbol& x : sym)
    if (x.alive) out.push_back(x.id);
}

}  // namespace braid
