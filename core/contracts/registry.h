// Every layer contract, by name, with the entry points a backend overrides. Tests and the
// parity suite walk this list, so adding a contract is one line here (house style P8).
#pragma once

#include <array>
#include <string_view>

namespace braid {

inline constexpr auto kContractNames = std::to_array<std::string_view>({
    "embedding",   "rmsnorm",    "linear",      "rotary",      "attention",  "conv1d",
    "conv1d_step", "mamba1_scan", "mamba1_step", "mamba2_ssd", "mamba2_step", "moe_router",
    "moe_experts", "swiglu_mlp", "add",         "copy",
});

}  // namespace braid
