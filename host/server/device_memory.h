// Device memory for /metrics: what the CUDA runtime reports for a device, when the build has CUDA.
#pragma once

#include <cstddef>

namespace marquee::server {

struct DeviceMemory {
  bool known = false;  // false: no CUDA in this build, or the runtime could not answer
  size_t free_bytes = 0;
  size_t total_bytes = 0;
};

DeviceMemory query_device_memory(int device);

}  // namespace marquee::server
