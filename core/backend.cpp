#include "core/backend.h"

namespace braid {

#define BRAID_DISPATCH(fn, Args, validator, method)     \
  Status fn(Backend& be, const Args& a) {               \
    BRAID_RETURN_IF_ERROR(validator(a));                \
    return be.method(a);                                \
  }

BRAID_DISPATCH(run_embedding, EmbeddingArgs, validate, embedding)
BRAID_DISPATCH(run_rmsnorm, RmsNormArgs, validate, rmsnorm)
BRAID_DISPATCH(run_linear, LinearArgs, validate, linear)
BRAID_DISPATCH(run_rotary, RotaryArgs, validate, rotary)
BRAID_DISPATCH(run_attention, AttentionArgs, validate, attention)
BRAID_DISPATCH(run_conv1d, Conv1dArgs, validate, conv1d)
BRAID_DISPATCH(run_conv1d_step, Conv1dArgs, validate_step, conv1d_step)
BRAID_DISPATCH(run_mamba1_scan, Mamba1ScanArgs, validate, mamba1_scan)
BRAID_DISPATCH(run_mamba1_step, Mamba1ScanArgs, validate_step, mamba1_step)
BRAID_DISPATCH(run_mamba2_ssd, Mamba2SsdArgs, validate, mamba2_ssd)
BRAID_DISPATCH(run_mamba2_step, Mamba2SsdArgs, validate_step, mamba2_step)
BRAID_DISPATCH(run_moe_router, MoeRouterArgs, validate, moe_router)
BRAID_DISPATCH(run_moe_experts, MoeExpertsArgs, validate, moe_experts)
BRAID_DISPATCH(run_swiglu_mlp, SwigluMlpArgs, validate, swiglu_mlp)
BRAID_DISPATCH(run_add, AddArgs, validate, add)
BRAID_DISPATCH(run_copy, CopyArgs, validate, copy)

#undef BRAID_DISPATCH

}  // namespace braid
