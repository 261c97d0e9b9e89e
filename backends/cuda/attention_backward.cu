#include "backends/cuda/cuda_context.cuh"
namespace braid {
Status CudaBackend::attention_backward(const AttentionBackwardArgs&) { return unsupported("attention_backward"); }
}
