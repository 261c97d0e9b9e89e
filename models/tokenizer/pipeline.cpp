#include "models/tokenizer/pipeline.h"

#include <array>
#include <memory>
#include <unordered_map>

#include <unicode/normalizer2.h>
#include <unicode/locid.h>
#include <unicode/unistr.h>

#include "core/status.h"
#include "models/tokenizer/regex.h"
#include "models/tokenizer/utf8.h"

namespace braid {
namespace {

using json = nlohmann::json;

// HF's pre_tokenizers/byte_level.rs split (the GPT-2 pattern).
constexpr const char* kGpt2Split = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::string type_of(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) fail(where, ": expected an object with a \"type\"");
  return j["type"].get<std::string>();
}

// A String or Regex pattern ({"String": s} | {"Regex": r}), compiled.
std::shared_ptr<Regex> pattern_of(const json& j, const std::string& where) {
  if (j.is_object() && j.contains("Regex")) return std::make_shared<Regex>(j["Regex"].get<std::string>(), where);
  if (j.is_object() && j.contains("String")) return std::make_shared<Regex>(regex_escape(j["String"].get<std::string>()), where);
  if (j.is_string()) return std::make_shared<Regex>(regex_escape(j.get<std::string>()), where);
  fail(where, ": pattern must be {\"String\": …} or {\"Regex\": …}");
}

std::string utf8_char(const json& j, const std::string& where, const char* key) {
  if (!j.contains(key) || !j[key].is_string() || j[key].get<std::string>().empty()) fail(where, ": needs a string \"", key, "\"");
  return j[key].get<std::string>();
}

// Segments of `text`: (begin, end, is_match), covering it, from the regex's matches.
struct Segment {
  size_t b, e;
  bool match;
};
std::vector<Segment> segments(const Regex& re, std::string_view text, bool invert) {
  std::vector<Segment> out;
  size_t at = 0;
  for (auto [b, e] : re.find_all(text)) {
    if (b > at) out.push_back({at, b, invert});
    out.push_back({b, e, !invert});
    at = e;
  }
  if (at < text.size()) out.push_back({at, text.size(), invert});
  return out;
}

enum class Behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

Behavior behavior_of(const std::string& name, const std::string& where) {
  if (name == "Removed") return Behavior::removed;
  if (name == "Isolated") return Behavior::isolated;
  if (name == "MergedWithPrevious") return Behavior::merged_with_previous;
  if (name == "MergedWithNext") return Behavior::merged_with_next;
  if (name == "Contiguous") return Behavior::contiguous;
  fail(where, ": split behavior '", name, "' is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
}

// HF's NormalizedString::split: pieces of `p` by the segments, per behavior.
void split_piece(const Piece& p, const std::vector<Segment>& segs, Behavior how, std::vector<Piece>& out) {
  std::vector<std::pair<size_t, size_t>> spans;
  bool prev_match = false;
  for (const Segment& s : segs) {
    switch (how) {
      case Behavior::removed:
        if (!s.match) spans.emplace_back(s.b, s.e);
        break;
      case Behavior::isolated:
        spans.emplace_back(s.b, s.e);
        break;
      case Behavior::merged_with_previous:
        if (s.match && !spans.empty() && !prev_match) spans.back().second = s.e;
        else spans.emplace_back(s.b, s.e);
        break;
      case Behavior::merged_with_next:
        if (!s.match && !spans.empty() && prev_match) spans.back().second = s.e;
        else spans.emplace_back(s.b, s.e);
        break;
      case Behavior::contiguous:
        if (s.match && !spans.empty() && prev_match) spans.back().second = s.e;
        else spans.emplace_back(s.b, s.e);
        break;
    }
    prev_match = s.match;
  }
  for (auto [b, e] : spans)
    if (e > b) out.push_back({p.text.substr(b, e - b), p.at_start && b == 0});
}

PreTokenizer regex_split(std::shared_ptr<Regex> re, Behavior how, bool invert) {
  return [re, how, invert](std::vector<Piece>& pieces) {
    std::vector<Piece> out;
    for (const Piece& p : pieces) split_piece(p, segments(*re, p.text, invert), how, out);
    pieces = std::move(out);
  };
}

void replace_all(std::string& s, const Regex& re, const std::string& content) {
  std::string out;
  size_t at = 0;
  for (auto [b, e] : re.find_all(s)) {
    out.append(s, at, b - at);
    out += content;
    at = e;
  }
  out.append(s, at, std::string::npos);
  s = std::move(out);
}

std::array<std::string, 256> make_byte_table() {
  // Printable bytes map to themselves; the others to U+0100 + k in order (GPT-2 bytes_to_unicode).
  std::array<std::string, 256> t;
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    utf8::append(t[b], printable ? static_cast<char32_t>(b) : static_cast<char32_t>(0x100 + n++));
  }
  return t;
}

const std::unordered_map<std::string, unsigned char>& byte_level_inverse() {
  static const auto inv = [] {
    std::unordered_map<std::string, unsigned char> m;
    for (int b = 0; b < 256; ++b) m[byte_level_char(static_cast<unsigned char>(b))] = static_cast<unsigned char>(b);
    return m;
  }();
  return inv;
}

}  // namespace

const std::string& byte_level_char(unsigned char b) {
  static const std::array<std::string, 256> table = make_byte_table();
  return table[b];
}

Normalizer make_normalizer(const json& j, const std::string& where) {
  if (j.is_null()) return [](std::string&) {};
  const std::string type = type_of(j, where);
  if (type == "Sequence") {
    std::vector<Normalizer> steps;
    for (size_t i = 0; i < j.at("normalizers").size(); ++i)
      steps.push_back(make_normalizer(j["normalizers"][i], where + ".normalizers[" + std::to_string(i) + "]"));
    return [steps](std::string& s) {
      for (const Normalizer& n : steps) n(s);
    };
  }
  if (type == "Prepend") {
    const std::string pre = utf8_char(j, where, "prepend");
    return [pre](std::string& s) {
      if (!s.empty()) s = pre + s;
    };
  }
  if (type == "Replace") {
    auto re = pattern_of(j.at("pattern"), where);
    const std::string content = j.value("content", "");
    return [re, content](std::string& s) { replace_all(s, *re, content); };
  }
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    // Unicode normalization forms through ICU (GPT-NeoX's tokenizer uses NFC).
    UErrorCode err = U_ZERO_ERROR;
    const icu::Normalizer2* n = type == "NFC"    ? icu::Normalizer2::getNFCInstance(err)
                                : type == "NFD"  ? icu::Normalizer2::getNFDInstance(err)
                                : type == "NFKC" ? icu::Normalizer2::getNFKCInstance(err)
                                                 : icu::Normalizer2::getNFKDInstance(err);
    if (U_FAILURE(err)) fail(where, ": ICU has no ", type, " normalizer (", u_errorName(err), ")");
    return [n](std::string& s) {
      UErrorCode e = U_ZERO_ERROR;
      const icu::UnicodeString in = icu::UnicodeString::fromUTF8(s);
      if (n->isNormalized(in, e) && U_SUCCESS(e)) return;
      e = U_ZERO_ERROR;
      const icu::UnicodeString out = n->normalize(in, e);
      if (U_FAILURE(e)) fail("normalizer: ICU failed (", u_errorName(e), ")");
      s.clear();
      out.toUTF8String(s);
    };
  }
  if (type == "Lowercase") {
    return [](std::string& s) {
      icu::UnicodeString u = icu::UnicodeString::fromUTF8(s);
      u.toLower(icu::Locale::getRoot());
      s.clear();
      u.toUTF8String(s);
    };
  }
  fail(where, ": normalizer type '", type, "' is not supported (supported: Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase)");
}

PreTokenizer make_pre_tokenizer(const json& j, const std::string& where) {
  if (j.is_null()) return [](std::vector<Piece>&) {};
  const std::string type = type_of(j, where);
  if (type == "Sequence") {
    std::vector<PreTokenizer> steps;
    for (size_t i = 0; i < j.at("pretokenizers").size(); ++i)
      steps.push_back(make_pre_tokenizer(j["pretokenizers"][i], where + ".pretokenizers[" + std::to_string(i) + "]"));
    return [steps](std::vector<Piece>& pieces) {
      for (const PreTokenizer& p : steps) p(pieces);
    };
  }
  if (type == "ByteLevel") {
    const bool prefix = j.value("add_prefix_space", true), use_regex = j.value("use_regex", true);
    PreTokenizer split = use_regex ? regex_split(std::make_shared<Regex>(kGpt2Split, where), Behavior::isolated, false)
                                   : PreTokenizer([](std::vector<Piece>&) {});
    return [prefix, split](std::vector<Piece>& pieces) {
      if (prefix)
        for (Piece& p : pieces)
          if (p.text.empty() || p.text[0] != ' ') p.text = " " + p.text;
      split(pieces);
      for (Piece& p : pieces) {
        std::string mapped;
        mapped.reserve(p.text.size() * 2);
        for (unsigned char c : p.text) mapped += byte_level_char(c);
        p.text = std::move(mapped);
      }
    };
  }
  if (type == "Split") {
    return regex_split(pattern_of(j.at("pattern"), where), behavior_of(j.value("behavior", "Isolated"), where),
                       j.value("invert", false));
  }
  if (type == "Metaspace") {
    const std::string rep = utf8_char(j, where, "replacement");
    std::string scheme = j.value("prepend_scheme", "always");
    if (j.contains("add_prefix_space") && j["add_prefix_space"] == false) scheme = "never";
    if (scheme != "always" && scheme != "first" && scheme != "never")
      fail(where, ": prepend_scheme '", scheme, "' is not one of always, first, never");
    const bool split = j.value("split", true);
    auto on_rep = std::make_shared<Regex>(regex_escape(rep), where);
    auto space = std::make_shared<Regex>(" ", where);
    return [rep, scheme, split, on_rep, space](std::vector<Piece>& pieces) {
      std::vector<Piece> out;
      for (Piece p : pieces) {
        replace_all(p.text, *space, rep);
        const bool starts = p.text.compare(0, rep.size(), rep) == 0;
        if (!starts && (scheme == "always" || (scheme == "first" && p.at_start))) p.text = rep + p.text;
        if (split) split_piece(p, segments(*on_rep, p.text, false), Behavior::merged_with_next, out);
        else if (!p.text.empty()) out.push_back(std::move(p));
      }
      pieces = std::move(out);
    };
  }
  if (type == "Digits") {
    const bool individual = j.value("individual_digits", false);
    return regex_split(std::make_shared<Regex>(individual ? "\\p{Nd}" : "\\p{Nd}+", where), Behavior::isolated, false);
  }
  fail(where, ": pre-tokenizer type '", type, "' is not supported (supported: Sequence, ByteLevel, Split, Metaspace, Digits)");
}

Decoder make_decoder(const json& j, const std::string& where) {
  if (j.is_null()) return {};
  const std::string type = type_of(j, where);
  if (type == "Sequence") {
    std::vector<Decoder> steps;
    for (size_t i = 0; i < j.at("decoders").size(); ++i)
      steps.push_back(make_decoder(j["decoders"][i], where + ".decoders[" + std::to_string(i) + "]"));
    return [steps](std::vector<std::string>& t) {
      for (const Decoder& d : steps) d(t);
    };
  }
  if (type == "ByteLevel") {
    return [](std::vector<std::string>& tokens) {
      // A token whose characters are all in the byte table becomes those bytes, any other its
      // own UTF-8; the concatenation is read as lossy UTF-8.
      const auto& inv = byte_level_inverse();
      std::string bytes;
      for (const std::string& t : tokens) {
        std::string mine;
        bool all = true;
        for (size_t i = 0; i < t.size() && all;) {
          const size_t n = utf8::char_length(t, i);
          auto it = inv.find(t.substr(i, n));
          if (it == inv.end()) all = false;
          else mine += static_cast<char>(it->second);
          i += n;
        }
        bytes += all ? mine : t;
      }
      tokens.assign(1, utf8::lossy(bytes));
    };
  }
  if (type == "Replace") {
    auto re = pattern_of(j.at("pattern"), where);
    const std::string content = j.value("content", "");
    return [re, content](std::vector<std::string>& tokens) {
      for (std::string& t : tokens) replace_all(t, *re, content);
    };
  }
  if (type == "ByteFallback") {
    return [](std::vector<std::string>& tokens) {
      std::vector<std::string> out;
      std::string pending;  // bytes of consecutive <0xXX> tokens
      size_t pending_n = 0;
      auto flush = [&] {
        if (pending_n == 0) return;
        if (utf8::is_valid(pending)) out.push_back(pending);
        else
          for (size_t i = 0; i < pending_n; ++i) out.push_back("\xEF\xBF\xBD");
        pending.clear();
        pending_n = 0;
      };
      for (const std::string& t : tokens) {
        const bool byte = t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && std::isxdigit(static_cast<unsigned char>(t[3])) &&
                          std::isxdigit(static_cast<unsigned char>(t[4]));
        if (byte) {
          pending += static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16));
          ++pending_n;
        } else {
          flush();
          out.push_back(t);
        }
      }
      flush();
      tokens = std::move(out);
    };
  }
  if (type == "Fuse") {
    return [](std::vector<std::string>& tokens) {
      std::string all;
      for (const std::string& t : tokens) all += t;
      tokens.assign(1, all);
    };
  }
  if (type == "Strip") {
    const std::string content = utf8_char(j, where, "content");
    const size_t start = j.value("start", size_t{0}), stop = j.value("stop", size_t{0});
    return [content, start, stop](std::vector<std::string>& tokens) {
      for (std::string& t : tokens) {
        size_t b = 0, e = t.size();
        for (size_t k = 0; k < start && t.compare(b, content.size(), content) == 0 && b < e; ++k) b += content.size();
        for (size_t k = 0; k < stop && e >= b + content.size() && t.compare(e - content.size(), content.size(), content) == 0; ++k)
          e -= content.size();
        t = t.substr(b, e - b);
      }
    };
  }
  if (type == "Metaspace") {
    const std::string rep = utf8_char(j, where, "replacement");
    std::string scheme = j.value("prepend_scheme", "always");
    if (j.contains("add_prefix_space") && j["add_prefix_space"] == false) scheme = "never";
    const bool drop_first = scheme != "never";
    return [rep, drop_first](std::vector<std::string>& tokens) {
      // Every replacement character becomes a space, except in the first token, where it is
      // dropped (all of them, as HF does) unless the scheme is "never".
      for (size_t i = 0; i < tokens.size(); ++i) {
        std::string out;
        const std::string& t = tokens[i];
        for (size_t at = 0; at < t.size();) {
          if (t.compare(at, rep.size(), rep) == 0) {
            if (!(i == 0 && drop_first)) out += ' ';
            at += rep.size();
          } else {
            out += t[at++];
          }
        }
        tokens[i] = std::move(out);
      }
    };
  }
  fail(where, ": decoder type '", type, "' is not supported (supported: Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace)");
}

}  // namespace braid
