#include "models/data/spec.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "core/status.h"

namespace braid {

DataSpec parse_data_spec(const std::string& spec) {
  DataSpec s;
  s.text = spec;
  const auto colon = spec.find(':');
  s.kind = spec.substr(0, colon);
  s.arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (s.kind.empty()) fail("--data ", spec, ": empty data kind (expected e.g. text:FILE or mqar:num_kv_pairs=8)");
  return s;
}

SpecParams::SpecParams(const DataSpec& spec) : where_("--data " + spec.text + ": ") {
  if (spec.arg.empty()) return;
  size_t begin = 0;
  while (begin <= spec.arg.size()) {
    const size_t end = std::min(spec.arg.find(',', begin), spec.arg.size());
    const std::string item = spec.arg.substr(begin, end - begin);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      fail(where_, "expected key=value, got \"", item, "\"");
    Pair p{item.substr(0, eq), item.substr(eq + 1)};
    if (find(p.key)) fail(where_, "key ", p.key, " is given twice");
    pairs_.push_back(std::move(p));
    begin = end + 1;
  }
}

const SpecParams::Pair* SpecParams::find(const std::string& key) const {
  for (const Pair& p : pairs_)
    if (p.key == key) return &p;
  return nullptr;
}

bool SpecParams::has(const std::string& key) const { return find(key) != nullptr; }

int64_t SpecParams::take_int(const std::string& key, int64_t fallback) {
  known_.push_back(key);
  const Pair* p = find(key);
  if (!p) return fallback;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(p->value.c_str(), &end, 10);
  if (errno != 0 || end == p->value.c_str() || *end != '\0')
    fail(where_, key, " = ", p->value, " is not an integer");
  return v;
}

double SpecParams::take_double(const std::string& key, double fallback) {
  known_.push_back(key);
  const Pair* p = find(key);
  if (!p) return fallback;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(p->value.c_str(), &end);
  if (errno != 0 || end == p->value.c_str() || *end != '\0') fail(where_, key, " = ", p->value, " is not a number");
  return v;
}

bool SpecParams::take_bool(const std::string& key, bool fallback) {
  known_.push_back(key);
  const Pair* p = find(key);
  if (!p) return fallback;
  if (p->value == "1" || p->value == "true") return true;
  if (p->value == "0" || p->value == "false") return false;
  fail(where_, key, " = ", p->value, " is not a boolean (0, 1, false, true)");
}

void SpecParams::finish() const {
  for (const Pair& p : pairs_) {
    if (std::find(known_.begin(), known_.end(), p.key) != known_.end()) continue;
    std::string known;
    for (const std::string& k : known_) known += (known.empty() ? "" : ", ") + k;
    fail(where_, "unknown key ", p.key, " (known keys: ", known.empty() ? "none" : known, ")");
  }
}

}  // namespace braid
