// models/ablate/icl_probe.h — the in-context-learning format probe of ablation A5 (Jamba
// §6.2, Table 6): few-shot classification whose answer must be one of two label words.
//
// Each prompt holds `shots` demonstrations and one query, every one a passage of
// `passage_bytes` bytes (newlines turned into spaces) from the held-out tail (the last
// tenth, as models/data/text_data.h splits it) of the `positive` or `negative` domain of a
// byte-level corpus (scripts/make_corpus.sh):
//   "Text: <passage>\nLabel: <word>\n\n" × shots, then "Text: <passage>\nLabel:"
// The demonstrations alternate the two classes in a seeded random order; the query's class is
// seeded. The model continues greedily for `max_new` bytes; the first word of the
// continuation (letters after optional spaces) is its answer.
//   format_adherence = share of prompts whose answer is one of the two label words
//                      (the failure Jamba reports for pure Mamba: "Very Good", "3/10", ...)
//   accuracy         = share whose answer is the query's label word
// Probe JSON: {"kind": "icl_format", "corpus": DIR (default: the run's corpus: data),
//   "positive": "bible", "negative": "fortunes", "labels": ["Positive", "Negative"],
//   "shots": 4, "passage_bytes": 80, "prompts": 64, "max_new": 10, "seed": 7}
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "models/model.h"

namespace braid {

// Runs the probe on a byte-level model (vocab ≥ 256). Errors name the probe key or the file.
nlohmann::json run_icl_format_probe(HybridModel& model, const nlohmann::json& probe, const std::string& corpus_dir);

}  // namespace braid
