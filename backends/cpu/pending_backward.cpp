// Contracts this backend does not implement yet (being written; each line moves to its own file).
#include "backends/cpu/cpu_backend.h"

namespace braid {

Status CpuBackend::cross_entropy(const CrossEntropyArgs&) { return unsupported("cross_entropy"); }
Status CpuBackend::adamw(const AdamwArgs&) { return unsupported("adamw"); }
Status CpuBackend::tensor_stats(const TensorStatsArgs&) { return unsupported("tensor_stats"); }
Status CpuBackend::embedding_backward(const EmbeddingBackwardArgs&) { return unsupported("embedding_backward"); }
Status CpuBackend::rmsnorm_backward(const RmsNormBackwardArgs&) { return unsupported("rmsnorm_backward"); }
Status CpuBackend::linear_backward(const LinearBackwardArgs&) { return unsupported("linear_backward"); }
Status CpuBackend::rotary_backward(const RotaryArgs&) { return unsupported("rotary_backward"); }
Status CpuBackend::attention_backward(const AttentionBackwardArgs&) { return unsupported("attention_backward"); }
Status CpuBackend::conv1d_backward(const Conv1dBackwardArgs&) { return unsupported("conv1d_backward"); }
Status CpuBackend::mamba1_scan_backward(const Mamba1ScanBackwardArgs&) { return unsupported("mamba1_scan_backward"); }
Status CpuBackend::mamba2_ssd_backward(const Mamba2SsdBackwardArgs&) { return unsupported("mamba2_ssd_backward"); }
Status CpuBackend::moe_router_backward(const MoeRouterBackwardArgs&) { return unsupported("moe_router_backward"); }
Status CpuBackend::moe_experts_backward(const MoeExpertsBackwardArgs&) { return unsupported("moe_experts_backward"); }
Status CpuBackend::swiglu_mlp_backward(const SwigluMlpBackwardArgs&) { return unsupported("swiglu_mlp_backward"); }

}  // namespace braid
