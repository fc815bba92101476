// Every CUDA runtime call is checked; a failure throws BackendError with the call, the runtime's
// message and file:line (never abort inside the library).
#pragma once

#include "engine/error.h"

#include <cuda_runtime.h>

#define MARQUEE_CUDA_CHECK(call)                                                                  \
  do {                                                                                            \
    const cudaError_t marquee_err_ = (call);                                                      \
    if (marquee_err_ != cudaSuccess)                                                              \
      MARQUEE_THROW_AS(::marquee::BackendError, "{} failed: {} ({})", #call,                      \
                       cudaGetErrorString(marquee_err_), cudaGetErrorName(marquee_err_));          \
  } while (0)
