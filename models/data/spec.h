// models/data/spec.h — the one parser of `--data` SPECs: `kind`, `kind:PATH` or
// `kind:key=value,key=value,...` (models/data/training_data.h lists every form).
//
// A path kind (tokens, text, corpus) takes everything after the first ':' as its path. A
// parameter kind (the synthetic tasks) reads its keys through SpecParams, which fails on a
// malformed or repeated pair, on a value of the wrong type, and (finish()) on any key the kind
// did not ask for; every error starts with "--data SPEC:" and names the key and value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace braid {

struct DataSpec {
  std::string text;  // the whole SPEC as given, quoted by errors
  std::string kind;  // before the first ':'
  std::string arg;   // after the first ':' ("" when there is none)
};

DataSpec parse_data_spec(const std::string& spec);

class SpecParams {
 public:
  explicit SpecParams(const DataSpec& spec);

  // The value of `key` (marking it known), or `fallback` when the SPEC does not set it.
  int64_t take_int(const std::string& key, int64_t fallback);
  double take_double(const std::string& key, double fallback);
  bool take_bool(const std::string& key, bool fallback);  // 0/1, false/true
  bool has(const std::string& key) const;

  // Fails on the first key that no take_* asked for, listing the known keys.
  void finish() const;

  // "--data SPEC: " — the prefix of every error about this SPEC.
  const std::string& where() const { return where_; }

 private:
  struct Pair {
    std::string key, value;
  };
  const Pair* find(const std::string& key) const;
  std::string where_;
  std::vector<Pair> pairs_;
  std::vector<std::string> known_;
};

}  // namespace braid
