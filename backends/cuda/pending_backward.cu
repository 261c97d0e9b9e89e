// Contracts this backend does not implement yet (being written; each line moves to its own file).
#include "backends/cuda/cuda_backend.h"

namespace braid {

Status CudaBackend::cross_entropy(const CrossEntropyArgs&) { return unsupported("cross_entropy"); }
Status CudaBackend::adamw(const AdamwArgs&) { return unsupported("adamw"); }
Status CudaBackend::tensor_stats(const TensorStatsArgs&) { return unsupported("tensor_stats"); }
Status CudaBackend::embedding_backward(const EmbeddingBackwardArgs&) { return unsupported("embedding_backward"); }
Status CudaBackend::rmsnorm_backward(const RmsNormBackwardArgs&) { return unsupported("rmsnorm_backward"); }
Status CudaBackend::linear_backward(const LinearBackwardArgs&) { return unsupported("linear_backward"); }
Status CudaBackend::rotary_backward(const RotaryArgs&) { return unsupported("rotary_backward"); }
Status CudaBackend::attention_backward(const AttentionBackwardArgs&) { return unsupported("attention_backward"); }
Status CudaBackend::conv1d_backward(const Conv1dBackwardArgs&) { return unsupported("conv1d_backward"); }
Status CudaBackend::mamba1_scan_backward(const Mamba1ScanBackwardArgs&) { return unsupported("mamba1_scan_backward"); }
Status CudaBackend::mamba2_ssd_backward(const Mamba2SsdBackwardArgs&) { return unsupported("mamba2_ssd_backward"); }
Status CudaBackend::moe_router_backward(const MoeRouterBackwardArgs&) { return unsupported("moe_router_backward"); }
Status CudaBackend::moe_experts_backward(const MoeExpertsBackwardArgs&) { return unsupported("moe_experts_backward"); }
Status CudaBackend::swiglu_mlp_backward(const SwigluMlpBackwardArgs&) { return unsupported("swiglu_mlp_backward"); }

}  // namespace braid
