// braid tokenize --tokenizer FILE [--text-file F|-] [--json] [--add-special-tokens]
// Encodes the raw UTF-8 bytes of F (or of stdin with "-", the default) with a tokenizer.json
// or tokenizer.model (models/tokenizer/tokenizer.h) and decodes the ids back. Prints the ids
// and the count; with --json the last stdout line is {"ids": [...], "decoded": "..."},
// encoded without added special tokens unless --add-special-tokens.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "models/cli/cli.h"
#ifdef BRAID_HAVE_TOKENIZER
#include "models/tokenizer/tokenizer.h"
#endif

namespace braid::cli {
namespace {

struct TokenizeOptions {
  std::string tokenizer, text_file = "-";
  bool json = false, add_special = false;
};

std::string read_text(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, ": cannot open for reading");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void run_tokenize(const TokenizeOptions& o) {
#ifdef BRAID_HAVE_TOKENIZER
  const Tokenizer tok = Tokenizer::from_file(o.tokenizer);
  const std::string text = read_text(o.text_file);
  std::vector<int32_t> ids;
  try {
    ids = tok.encode(text, o.add_special);
  } catch (const Error& e) {
    fail(o.text_file == "-" ? "stdin" : o.text_file, ": ", e.what());
  }
  const std::string decoded = tok.decode(ids);
  if (!o.json) {
    for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? " " : "", ids[i]);
    std::printf("\n%zu tokens, %zu bytes\n", ids.size(), text.size());
    return;
  }
  const nlohmann::json j{{"ids", ids}, {"decoded", decoded}};
  std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
#else
  (void)o;
  fail("tokenize: this build has no tokenizer support (libpcre2-dev, libicu-dev and libsentencepiece-dev were not found; "
       "scripts/setup.sh installs them)");
#endif
}

}  // namespace

void add_tokenize(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* sub = app.add_subcommand("tokenize", "encode text with a tokenizer.json or tokenizer.model, and decode it back");
  sub->add_option("--tokenizer", o->tokenizer, "tokenizer.json, tokenizer.model, or a directory holding one")->required();
  sub->add_option("--text-file", o->text_file, "file of raw UTF-8 text, or - for stdin (default)");
  sub->add_flag("--json", o->json, "last stdout line is {\"ids\": [...], \"decoded\": \"...\"}");
  sub->add_flag("--add-special-tokens", o->add_special, "apply the post-processor (e.g. BOS) when encoding");
  sub->callback([o] { run_tokenize(*o); });
}

}  // namespace braid::cli
