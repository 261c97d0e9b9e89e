// Every layer contract, by name, in the order of BRAID_FOR_EACH_CONTRACT (core/backend.h).
// Tests and the parity suite walk this list.
#pragma once

#include <array>
#include <string_view>

#include "core/backend.h"

namespace braid {

#define BRAID_CONTRACT_NAME(method, Args, validator, coster) std::string_view(#method),
inline constexpr auto kContractNames = std::to_array<std::string_view>({BRAID_FOR_EACH_CONTRACT(BRAID_CONTRACT_NAME)});
#undef BRAID_CONTRACT_NAME

}  // namespace braid
