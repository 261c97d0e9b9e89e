#include "models/tokenizer/tokenizer.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <sentencepiece_processor.h>

#include "core/status.h"
#include "models/tokenizer/bpe.h"
#include "models/tokenizer/pipeline.h"
#include "models/tokenizer/utf8.h"

namespace braid {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

struct AddedToken {
  int32_t id;
  std::string content;
  bool lstrip = false, rstrip = false, normalized = false, special = false;
};

// HF's \s, as the added-vocabulary regexes use it: Unicode White_Space.
bool is_space_at(std::string_view s, size_t i, size_t* len) {
  const size_t n = utf8::char_length(s, i);
  *len = n;
  const char32_t c = n > 1 || static_cast<unsigned char>(s[i]) < 0x80 ? utf8::decode_at(s, i, n) : 0xFFFD;
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// One post-processor step: ids of one sequence → ids with the special tokens around them.
using PostProcessor = std::function<std::vector<int32_t>(const std::vector<int32_t>&)>;

}  // namespace

struct Tokenizer::Impl {
  std::string source;
  // tokenizer.json
  std::vector<AddedToken> added;  // in file order
  std::unordered_map<int32_t, size_t> added_by_id;
  std::unordered_map<std::string, size_t> added_by_content;
  std::vector<const AddedToken*> by_first_byte[2][256];  // [normalized][first byte]: match candidates
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  std::unique_ptr<BpeModel> model;
  PostProcessor post;
  std::string post_error;  // set when the post-processor is not supported (only add_special_tokens needs it)
  Decoder decoder;
  // tokenizer.model
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp;

  // HF AddedVocabulary::find_matches over the tokens with normalized == `normalized`.
  void split_added(const Piece& p, bool normalized, std::vector<std::pair<Piece, int32_t>>& out) const {
    const std::string& s = p.text;
    size_t at = 0, i = 0;
    while (i < s.size()) {
      const AddedToken* best = nullptr;
      for (const AddedToken* t : by_first_byte[normalized][static_cast<unsigned char>(s[i])])
        if (s.compare(i, t->content.size(), t->content) == 0 && (!best || t->content.size() > best->content.size())) best = t;
      if (!best) {
        i += utf8::char_length(s, i);
        continue;
      }
      size_t start = i, stop = i + best->content.size(), n = 0;
      if (best->lstrip) {
        size_t b = start;
        // Whitespace immediately before the match, not before the previous split.
        while (b > at) {
          size_t k = b - 1;
          while (k > at && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
          if (!is_space_at(s, k, &n)) break;
          b = k;
        }
        start = b;
      }
      if (best->rstrip)
        while (stop < s.size() && is_space_at(s, stop, &n)) stop += n;
      if (start > at) out.push_back({{s.substr(at, start - at), p.at_start && at == 0}, -1});
      out.push_back({{s.substr(start, stop - start), false}, best->id});
      at = i = stop;
    }
    if (at < s.size()) out.push_back({{s.substr(at), p.at_start && at == 0}, -1});
  }
};

namespace {

PostProcessor make_post_processor(const json& j, const Tokenizer::Impl& t, const std::string& where, std::string& error) {
  if (j.is_null()) return [](const std::vector<int32_t>& ids) { return ids; };
  const std::string type = j.value("type", "");
  auto id_of = [&](const std::string& tok) -> int32_t {
    if (auto it = t.added_by_content.find(tok); it != t.added_by_content.end()) return t.added[it->second].id;
    if (const int32_t* id = t.model->token_to_id(tok)) return *id;
    fail(where, ": special token '", tok, "' is not in the vocabulary");
  };
  if (type == "ByteLevel") return [](const std::vector<int32_t>& ids) { return ids; };
  if (type == "Sequence") {
    std::vector<PostProcessor> steps;
    for (size_t i = 0; i < j.at("processors").size(); ++i)
      steps.push_back(make_post_processor(j["processors"][i], t, where + ".processors[" + std::to_string(i) + "]", error));
    return [steps](const std::vector<int32_t>& ids) {
      std::vector<int32_t> out = ids;
      for (const PostProcessor& p : steps) out = p(out);
      return out;
    };
  }
  if (type == "TemplateProcessing") {
    // The "single" template: SpecialToken items expand to their ids, Sequence to the input.
    std::vector<std::vector<int32_t>> parts;  // empty vector = the sequence
    for (const json& item : j.at("single")) {
      if (item.contains("Sequence")) {
        parts.emplace_back();
      } else if (item.contains("SpecialToken")) {
        const std::string name = item["SpecialToken"].at("id").get<std::string>();
        const json& st = j.at("special_tokens").at(name);
        parts.push_back(st.at("ids").get<std::vector<int32_t>>());
      } else {
        fail(where, ".single: an item is neither Sequence nor SpecialToken");
      }
    }
    return [parts](const std::vector<int32_t>& ids) {
      std::vector<int32_t> out;
      for (const auto& p : parts) out.insert(out.end(), p.empty() ? ids.begin() : p.begin(), p.empty() ? ids.end() : p.end());
      return out;
    };
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    const int32_t cls = id_of(j.at("cls").at(0).get<std::string>()), sep = id_of(j.at("sep").at(0).get<std::string>());
    return [cls, sep](const std::vector<int32_t>& ids) {
      std::vector<int32_t> out{cls};
      out.insert(out.end(), ids.begin(), ids.end());
      out.push_back(sep);
      return out;
    };
  }
  error = where + ": post-processor type '" + type + "' is not supported (supported: TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence)";
  return {};
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, ": cannot open for reading");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

bool Tokenizer::exists_in(const std::string& dir) {
  return fs::exists(fs::path(dir) / "tokenizer.json") || fs::exists(fs::path(dir) / "tokenizer.model");
}

Tokenizer Tokenizer::from_file(const std::string& path) {
  std::error_code ec;
  fs::path file = path;
  if (!fs::exists(file, ec)) fail(path, ": no such file or directory");
  if (fs::is_directory(file, ec)) {
    if (fs::exists(file / "tokenizer.json")) file /= "tokenizer.json";
    else if (fs::exists(file / "tokenizer.model")) file /= "tokenizer.model";
    else fail(path, ": directory has no tokenizer.json or tokenizer.model");
  }
  if (file.extension() == ".model") {
    auto impl = std::make_unique<Impl>();
    impl->source = file.string();
    impl->sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const auto status = impl->sp->Load(file.string());
    if (!status.ok()) fail(file.string(), ": not a sentencepiece model (", status.ToString(), ")");
    return Tokenizer(std::move(impl));
  }
  const std::string text = read_file(file.string());
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) fail(file.string(), ": not valid JSON");
  return from_json(j, file.string());
}

Tokenizer Tokenizer::from_json(const json& j, const std::string& source) {
  try {
    return load_json(j, source);
  } catch (const json::exception& e) {  // a field of the wrong JSON type or a missing key
    fail(source, ": malformed tokenizer.json (", e.what(), ")");
  }
}

Tokenizer Tokenizer::load_json(const json& j, const std::string& source) {
  if (!j.is_object() || !j.contains("model")) fail(source, ": not a tokenizer.json (no \"model\")");
  auto impl = std::make_unique<Impl>();
  impl->source = source;
  impl->model = std::make_unique<BpeModel>(j["model"], source + ": model");
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (size_t i = 0; i < j["added_tokens"].size(); ++i) {
      const json& a = j["added_tokens"][i];
      const std::string where = source + ": added_tokens[" + std::to_string(i) + "]";
      if (!a.contains("id") || !a.contains("content")) fail(where, ": needs id and content");
      if (a.value("single_word", false)) fail(where, ": single_word added tokens are not supported");
      AddedToken t{a["id"].get<int32_t>(), a["content"].get<std::string>(), a.value("lstrip", false),
                   a.value("rstrip", false), a.value("normalized", !a.value("special", false)), a.value("special", false)};
      impl->added_by_id[t.id] = impl->added.size();
      impl->added_by_content[t.content] = impl->added.size();
      impl->added.push_back(std::move(t));
    }
  }
  for (const AddedToken& t : impl->added)
    if (!t.content.empty()) impl->by_first_byte[t.normalized][static_cast<unsigned char>(t.content[0])].push_back(&t);
  impl->normalizer = make_normalizer(j.value("normalizer", json()), source + ": normalizer");
  impl->pre_tokenizer = make_pre_tokenizer(j.value("pre_tokenizer", json()), source + ": pre_tokenizer");
  impl->decoder = make_decoder(j.value("decoder", json()), source + ": decoder");
  impl->post = make_post_processor(j.value("post_processor", json()), *impl, source + ": post_processor", impl->post_error);
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  if (const size_t i = utf8::first_invalid(text); i != std::string_view::npos)
    fail("tokenize: the text is not valid UTF-8 (byte ", i, " is 0x", std::hex, static_cast<int>(static_cast<unsigned char>(text[i])), ")");
  const Impl& t = *impl_;
  std::vector<int32_t> ids;
  if (t.sp) {
    std::vector<int> out;
    const auto status = t.sp->Encode(std::string(text), &out);
    if (!status.ok()) fail(t.source, ": sentencepiece encode failed (", status.ToString(), ")");
    if (add_special_tokens && t.sp->bos_id() >= 0) ids.push_back(t.sp->bos_id());
    ids.insert(ids.end(), out.begin(), out.end());
    return ids;
  }
  // 1–2: added tokens, raw then normalized.
  std::vector<std::pair<Piece, int32_t>> raw, split;
  t.split_added({std::string(text), true}, false, raw);
  for (auto& [piece, id] : raw) {
    if (id >= 0) {
      split.emplace_back(std::move(piece), id);
      continue;
    }
    t.normalizer(piece.text);
    t.split_added(piece, true, split);
  }
  // 3–4: pre-tokenize and run the model on every piece that is not an added token.
  std::vector<Piece> pieces;
  for (auto& [piece, id] : split) {
    if (id >= 0) {
      ids.push_back(id);
      continue;
    }
    pieces.assign(1, std::move(piece));
    if (pieces[0].text.empty()) continue;
    t.pre_tokenizer(pieces);
    for (const Piece& p : pieces) t.model->encode(p.text, ids);
  }
  if (!add_special_tokens) return ids;
  if (!t.post_error.empty()) fail(t.post_error);
  return t.post(ids);
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  const Impl& t = *impl_;
  if (t.sp) {
    for (int32_t id : ids)
      if (id < 0 || id >= t.sp->GetPieceSize()) fail(t.source, ": token id ", id, " is outside the vocabulary (", t.sp->GetPieceSize(), ")");
    std::vector<int> v(ids.begin(), ids.end());
    std::string out;
    const auto status = t.sp->Decode(v, &out);
    if (!status.ok()) fail(t.source, ": sentencepiece decode failed (", status.ToString(), ")");
    return out;
  }
  std::vector<std::string> tokens;
  for (int32_t id : ids) {
    if (auto it = t.added_by_id.find(id); it != t.added_by_id.end()) {
      if (!(skip_special_tokens && t.added[it->second].special)) tokens.push_back(t.added[it->second].content);
    } else if (const std::string* tok = t.model->id_to_token(id)) {
      tokens.push_back(*tok);
    } else {
      fail(t.source, ": token id ", id, " is not in the vocabulary");
    }
  }
  if (!t.decoder) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  t.decoder(tokens);
  std::string out;
  for (const std::string& s : tokens) out += s;
  return out;
}

int64_t Tokenizer::vocab_size() const {
  if (impl_->sp) return impl_->sp->GetPieceSize();
  int64_t n = impl_->model->max_id() + 1;
  for (const AddedToken& a : impl_->added) n = std::max<int64_t>(n, a.id + 1);
  return n;
}

std::optional<int32_t> Tokenizer::token_to_id(const std::string& token) const {
  if (impl_->sp) {
    const int id = impl_->sp->PieceToId(token);
    return id == impl_->sp->unk_id() && token != impl_->sp->IdToPiece(id) ? std::nullopt : std::optional<int32_t>(id);
  }
  if (auto it = impl_->added_by_content.find(token); it != impl_->added_by_content.end()) return impl_->added[it->second].id;
  if (const int32_t* id = impl_->model->token_to_id(token)) return *id;
  return std::nullopt;
}

std::string Tokenizer::source() const { return impl_->source; }

std::string StreamDecoder::push(int32_t id) {
  ids_.push_back(id);
  std::string text = tok_.decode(ids_, skip_);
  // Hold back trailing replacement characters: they may be a character still being spelled.
  size_t end = text.size();
  while (end >= emitted_ + 3 && text.compare(end - 3, 3, "\xEF\xBF\xBD") == 0) end -= 3;
  if (end <= emitted_) return "";
  std::string out = text.substr(emitted_, end - emitted_);
  emitted_ = end;
  return out;
}

std::string StreamDecoder::finish() {
  const std::string text = tok_.decode(ids_, skip_);
  std::string out = text.size() > emitted_ ? text.substr(emitted_) : "";
  emitted_ = text.size();
  return out;
}

}  // namespace braid
