// models/tokenizer/regex.h — the Unicode regular expressions of tokenizer.json (the GPT-2 and
// Llama-3 pre-splits use \p{L}, \p{N}, \s and lookahead), through PCRE2 with UTF and UCP, the
// nearest well-kept engine to the Oniguruma that HF tokenizers uses.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace braid {

class Regex {
 public:
  // Compiles `pattern` (UTF-8); an invalid pattern throws braid::Error naming `where`.
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  // The non-empty matches of the pattern in `text`, left to right, as [begin, end) byte offsets.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The pattern that matches `literal` exactly (for tokenizer.json's {"String": ...} patterns).
std::string regex_escape(std::string_view literal);

}  // namespace braid
