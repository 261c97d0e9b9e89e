#include "core/backend.h"

namespace braid {

#define BRAID_CONTRACT_RUN(method, Args, validator, coster) \
  Status run_##method(Backend& be, const Args& a) { \
    BRAID_RETURN_IF_ERROR(validator(a));             \
    return be.method(a);                             \
  }
BRAID_FOR_EACH_CONTRACT(BRAID_CONTRACT_RUN)
#undef BRAID_CONTRACT_RUN

}  // namespace braid
