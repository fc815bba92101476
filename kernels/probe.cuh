// A minimal kernel used by the device self-test (`marquee devices --self-test`): proves that this
// build's device code runs on the GPU at hand (right architecture, working driver).
#pragma once

#include <cuda_runtime.h>

namespace marquee::kernels {

/// out[i] = 2 * i + 1 for i < n.
void launch_probe(int* out, int n, cudaStream_t stream);

}  // namespace marquee::kernels
