#include "models/tokenizer/utf8.h"

namespace braid::utf8 {

namespace {

// The well-formed sequences (Unicode Table 3-7) starting with lead byte c: their length n and
// the allowed range [lo, hi] of the second byte (later bytes are 0x80–0xBF). n = 0 for a byte
// that starts none (a continuation byte, C0, C1, F5–FF).
struct Lead {
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
};

Lead lead_of(unsigned char c) {
  if (c >= 0xC2 && c <= 0xDF) return {2};
  if (c == 0xE0) return {3, 0xA0};
  if (c == 0xED) return {3, 0x80, 0x9F};  // no surrogates
  if (c >= 0xE1 && c <= 0xEF) return {3};
  if (c == 0xF0) return {4, 0x90};
  if (c == 0xF4) return {4, 0x80, 0x8F};  // ≤ U+10FFFF
  if (c >= 0xF1 && c <= 0xF3) return {4};
  return {};
}

// How many bytes from s[i] match a prefix of the well-formed sequence that s[i] leads (≥ 1).
size_t matched_prefix(std::string_view s, size_t i, const Lead& l) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  size_t k = 1;
  if (i + 1 < s.size() && b(i + 1) >= l.lo && b(i + 1) <= l.hi) {
    ++k;
    while (k < l.n && i + k < s.size() && (b(i + k) & 0xC0) == 0x80) ++k;
  }
  return k;
}

}  // namespace

size_t valid_length(std::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  const Lead l = lead_of(c);
  if (l.n == 0) return 0;
  return matched_prefix(s, i, l) == l.n ? l.n : 0;
}

size_t first_invalid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = valid_length(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

bool is_valid(std::string_view s) { return first_invalid(s) == std::string_view::npos; }

// The length of the maximal subpart of an invalid sequence at s[i]: the longest prefix of a
// well-formed sequence (at least one byte).
static size_t invalid_subpart(std::string_view s, size_t i) {
  const Lead l = lead_of(static_cast<unsigned char>(s[i]));
  return l.n == 0 ? 1 : matched_prefix(s, i, l);
}

std::string lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = valid_length(s, i);
    if (n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      i += invalid_subpart(s, i);
    }
  }
  return out;
}

char32_t decode_at(std::string_view s, size_t i, size_t len) {
  const auto b = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k])); };
  switch (len) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

size_t char_length(std::string_view s, size_t i) {
  const size_t n = valid_length(s, i);
  return n ? n : 1;
}

}  // namespace braid::utf8
