#include "backends/cuda/cuda_context.cuh"
namespace braid {
Status CudaBackend::mamba1_scan_backward(const Mamba1ScanBackwardArgs&) { return unsupported("mamba1_scan_backward"); }
Status CudaBackend::mamba2_ssd_backward(const Mamba2SsdBackwardArgs&) { return unsupported("mamba2_ssd_backward"); }
}
