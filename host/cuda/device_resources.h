// RAII owners for the CUDA objects Marquee uses: the one allocator through which all device memory
// goes, typed device buffers, and a resources handle (device + stream) passed to GPU code first,
// in the manner of RAFT's `resources`.
#pragma once

#include "host/cuda/cuda_check.h"

#include <cstddef>
#include <utility>

namespace marquee::cuda {

/// The only place that calls cudaMalloc/cudaFree.
struct DeviceAllocator {
  static void* allocate(size_t bytes) {
    void* p = nullptr;
    if (bytes > 0) MARQUEE_CUDA_CHECK(cudaMalloc(&p, bytes));
    return p;
  }
  static void release(void* p) noexcept {
    if (p) cudaFree(p);
  }
};

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t count) : data_(static_cast<T*>(DeviceAllocator::allocate(count * sizeof(T)))), size_(count) {}
  ~DeviceBuffer() { DeviceAllocator::release(data_); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
};

/// Device and stream for one user of the GPU.
class Resources {
 public:
  explicit Resources(int device = 0) : device_(device) {
    MARQUEE_CUDA_CHECK(cudaSetDevice(device_));
    MARQUEE_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }
  ~Resources() {
    if (stream_) cudaStreamDestroy(stream_);
  }
  Resources(const Resources&) = delete;
  Resources& operator=(const Resources&) = delete;

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  void sync() const { MARQUEE_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
};

}  // namespace marquee::cuda
