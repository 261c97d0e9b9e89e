// The layer registry: one line per mixer or FFN kind (house style P8). A new kind is its own
// file under models/layers/ plus one line here; tests walk these tables.
#include <array>

#include "models/layers/layer.h"

namespace braid {

extern const MixerEntry kAttentionMixer;
extern const MixerEntry kMambaMixer;
extern const MixerEntry kMamba2Mixer;
extern const FfnEntry kMlpFfn;
extern const FfnEntry kMoeFfn;
extern const FfnEntry kNoFfn;

namespace {
const std::array<const MixerEntry*, 3> kMixers = {&kAttentionMixer, &kMambaMixer, &kMamba2Mixer};
const std::array<const FfnEntry*, 3> kFfns = {&kNoFfn, &kMlpFfn, &kMoeFfn};
}  // namespace

const MixerEntry& mixer_entry(MixerKind kind) {
  for (const MixerEntry* e : kMixers)
    if (e->kind == kind) return *e;
  BRAID_CHECK(false, "mixer kind ", static_cast<int>(kind), " is not registered");
  return *kMixers[0];
}

const FfnEntry& ffn_entry(FfnKind kind) {
  for (const FfnEntry* e : kFfns)
    if (e->kind == kind) return *e;
  BRAID_CHECK(false, "ffn kind ", static_cast<int>(kind), " is not registered");
  return *kFfns[0];
}

}  // namespace braid
