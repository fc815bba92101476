#include "host/server/device_memory.h"

#include "host/cuda/entry_points.h"

namespace marquee::server {

// Through the CUDA backend's entry point, so this file compiles the same with and without CUDA.
DeviceMemory query_device_memory(int device) {
  const cuda::MemoryInfo info = cuda::memory_info(device);
  return DeviceMemory{info.known, info.free_bytes, info.total_bytes};
}

}  // namespace marquee::server
