#include "backends/cuda/cuda_context.cuh"
namespace braid {
Status CudaBackend::conv1d_backward(const Conv1dBackwardArgs&) { return unsupported("conv1d_backward"); }
}
