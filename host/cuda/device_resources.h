// RAII owners for the CUDA objects Marquee uses: the one allocator through which all device memory
// goes, typed device buffers, and a resources handle (device + stream) passed to GPU code first,
// in the manner of RAFT's `resources`.
#pragma once

#include "host/cuda/cuda_check.h"

#include <cstddef>
#include <utility>

namespace marquee::cuda {

/// The entry points' door check: BackendError naming `what` when no CUDA device is usable,
/// ArgumentError when `device` is not one of them (host/cuda/cuda_backend.cu).
void require_device(int device, const char* what);

/// Device memory ran out: callers may retry with smaller batches.
class DeviceOutOfMemory : public BackendError {
 public:
  using BackendError::BackendError;
};

/// The only place that calls cudaMalloc/cudaFree (and cudaMallocHost/cudaFreeHost for pinned
/// staging buffers).
struct DeviceAllocator {
  static void* allocate(size_t bytes) {
    void* p = nullptr;
    if (bytes == 0) return nullptr;
    const cudaError_t err = cudaMalloc(&p, bytes);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear it: the caller may retry smaller
      MARQUEE_THROW_AS(DeviceOutOfMemory, "cudaMalloc of {} MiB failed: out of device memory", bytes >> 20);
    }
    MARQUEE_CUDA_CHECK(err);
    return p;
  }
  static void release(void* p) noexcept {
    if (p) cudaFree(p);
  }
  static void* allocate_pinned(size_t bytes) {
    void* p = nullptr;
    if (bytes > 0) MARQUEE_CUDA_CHECK(cudaMallocHost(&p, bytes));
    return p;
  }
  static void release_pinned(void* p) noexcept {
    if (p) cudaFreeHost(p);
  }
};

/// Page-locked host memory, so that copies run asynchronously on a stream. Grows on demand.
template <typename T>
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer() { DeviceAllocator::release_pinned(data_); }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  /// Ensures room for `count` elements (contents are not kept).
  void reserve(size_t count) {
    if (count <= capacity_) return;
    DeviceAllocator::release_pinned(data_);
    data_ = nullptr;
    capacity_ = 0;
    data_ = static_cast<T*>(DeviceAllocator::allocate_pinned(count * sizeof(T)));
    capacity_ = count;
  }
  T* data() const { return data_; }
  size_t capacity() const { return capacity_; }

 private:
  T* data_ = nullptr;
  size_t capacity_ = 0;
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
  /// Ensures room for `count` elements (contents are not kept: the old block is freed first, so
  /// growing never needs both at once).
  void reserve(size_t count) {
    if (count <= size_) return;
    *this = DeviceBuffer();
    *this = DeviceBuffer(count);
  }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
};

/// An owned CUDA stream.
class Stream {
 public:
  Stream() { MARQUEE_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~Stream() {
    if (stream_) cudaStreamDestroy(stream_);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }
  void sync() const { MARQUEE_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
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
