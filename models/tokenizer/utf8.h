// models/tokenizer/utf8.h — the UTF-8 helpers the tokenizer needs, with Rust's semantics
// where HF tokenizers relies on them (String::from_utf8_lossy: one U+FFFD per maximal invalid
// subpart, as the WHATWG encoding standard specifies).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace braid::utf8 {

// Length in bytes of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid
// there (an invalid lead byte, a bad continuation, an overlong form, a surrogate, > U+10FFFF,
// or a truncated sequence).
size_t valid_length(std::string_view s, size_t i);

// The offset of the first byte that does not start a valid sequence, or npos.
size_t first_invalid(std::string_view s);
bool is_valid(std::string_view s);

// The bytes with every maximal invalid subpart replaced by U+FFFD.
std::string lossy(std::string_view s);

// The code point of the valid sequence at s[i] (its length from valid_length).
char32_t decode_at(std::string_view s, size_t i, size_t len);

void append(std::string& out, char32_t cp);

// Byte lengths of a valid UTF-8 string's characters, in order (for splitting into chars).
// Invalid bytes count as one-byte characters.
size_t char_length(std::string_view s, size_t i);

}  // namespace braid::utf8
