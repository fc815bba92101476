// Shared by the GPU test files: whether a device is present, and the skip that says why not.
#pragma once

#include "host/cuda/entry_points.h"

#include <gtest/gtest.h>

namespace marquee::test {

inline bool have_cuda_device() { return cuda::query_devices().device_count > 0; }

}  // namespace marquee::test

#define SKIP_WITHOUT_DEVICE()                    \
  if (!::marquee::test::have_cuda_device()) \
  GTEST_SKIP() << "no CUDA device: " << ::marquee::cuda::query_devices().error
