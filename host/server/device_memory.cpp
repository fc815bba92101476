#include "host/server/device_memory.h"

#ifdef MARQUEE_SERVER_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace marquee::server {

DeviceMemory query_device_memory([[maybe_unused]] int device) {
  DeviceMemory m;
#ifdef MARQUEE_SERVER_HAVE_CUDA
  int previous = 0;
  if (cudaGetDevice(&previous) != cudaSuccess) return m;
  if (cudaSetDevice(device) != cudaSuccess) return m;
  size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
    m.known = true;
    m.free_bytes = free_bytes;
    m.total_bytes = total_bytes;
  }
  cudaSetDevice(previous);
#endif
  return m;
}

}  // namespace marquee::server
