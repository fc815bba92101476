// The CUDA artwork chooser (engine/backend.h, cuda::make_artwork_chooser in cuda_backend.cu): the GPU twin of the CPU
// chooser in engine/artwork.cpp. The variant vectors are uploaded once in CSR form; per batch, only
// the selected (user, title) pairs of the top-K go to the device (the users' tag-space vectors, the
// K titles and counts per user), and one kernel (kernels/artwork_kernels.cuh) picks each pair's
// variant. Users stream through in chunks bounded by a fixed device budget.
#include "host/cuda/entry_points.h"
#include "engine/error.h"
#include "host/cuda/cuda_artwork.h"
#include "host/cuda/device_resources.h"
#include "kernels/artwork_kernels.cuh"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace marquee::cuda {
namespace {

constexpr size_t kChunkBytes = size_t(256) << 20;  // device and pinned staging per chunk of users

template <typename T>
DeviceBuffer<T> upload(const std::vector<T>& host) {
  DeviceBuffer<T> d(std::max<size_t>(1, host.size()));
  if (!host.empty())
    MARQUEE_CUDA_CHECK(cudaMemcpy(d.data(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

class CudaArtworkChooser final : public ArtworkChooser {
 public:
  CudaArtworkChooser(const Artwork& artwork, int device) : artwork_(artwork), device_(device), resources_(device) {
    cudaDeviceProp prop{};
    MARQUEE_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    device_name_ = prop.name;
    title_ptr_ = upload(artwork.title_ptr());
    row_ptr_ = upload(artwork.row_ptr());
    col_idx_ = upload(artwork.col_idx());
    values_ = upload(artwork.values());
  }

  std::string describe() const override {
    return fmt::format("cuda ({}, {} variants of {} titles resident)", device_name_, artwork_.num_variants(),
                       artwork_.titles_with_variants());
  }

  void choose(const UserBatchView& users, const TopKResult& result, std::vector<uint32_t>& chosen) override {
    check_choose_args(artwork_, users, result);
    const size_t k = result.k, dim = users.dim;
    chosen.assign(users.count * k, kNoArtwork);
    if (users.count == 0 || k == 0 || artwork_.num_variants() == 0) return;
    MARQUEE_CUDA_CHECK(cudaSetDevice(device_));
    const size_t per_user = dim * sizeof(float) + 2 * k * sizeof(uint32_t) + sizeof(uint32_t);
    const size_t chunk = std::max<size_t>(1, std::min(users.count, kChunkBytes / per_user));
    d_users_.reserve(chunk * dim);
    d_titles_.reserve(chunk * k);
    d_counts_.reserve(chunk);
    d_chosen_.reserve(chunk * k);
    h_chosen_.reserve(chunk * k);
    const kernels::ArtworkView view{title_ptr_.data(), row_ptr_.data(), col_idx_.data(), values_.data()};
    cudaStream_t s = resources_.stream();
    for (size_t u0 = 0; u0 < users.count; u0 += chunk) {
      const size_t nu = std::min(chunk, users.count - u0);
      // Pageable sources: the copies are staged by the driver; this runs once per batch of K titles.
      MARQUEE_CUDA_CHECK(cudaMemcpyAsync(d_users_.data(), users.vectors + u0 * dim, nu * dim * sizeof(float),
                                         cudaMemcpyHostToDevice, s));
      MARQUEE_CUDA_CHECK(cudaMemcpyAsync(d_titles_.data(), result.titles.data() + u0 * k, nu * k * sizeof(uint32_t),
                                         cudaMemcpyHostToDevice, s));
      MARQUEE_CUDA_CHECK(cudaMemcpyAsync(d_counts_.data(), result.counts.data() + u0, nu * sizeof(uint32_t),
                                         cudaMemcpyHostToDevice, s));
      kernels::choose_artwork(d_users_.data(), dim, d_titles_.data(), d_counts_.data(), nu, k, view, d_chosen_.data(),
                              s);
      MARQUEE_CUDA_CHECK(cudaGetLastError());
      MARQUEE_CUDA_CHECK(
          cudaMemcpyAsync(h_chosen_.data(), d_chosen_.data(), nu * k * sizeof(uint32_t), cudaMemcpyDeviceToHost, s));
      resources_.sync();
      std::memcpy(chosen.data() + u0 * k, h_chosen_.data(), nu * k * sizeof(uint32_t));
    }
  }

 private:
  const Artwork& artwork_;
  int device_;
  Resources resources_;
  std::string device_name_;
  DeviceBuffer<uint32_t> title_ptr_;
  DeviceBuffer<uint64_t> row_ptr_;
  DeviceBuffer<uint32_t> col_idx_;
  DeviceBuffer<float> values_;
  DeviceBuffer<float> d_users_;
  DeviceBuffer<uint32_t> d_titles_, d_counts_, d_chosen_;
  PinnedBuffer<uint32_t> h_chosen_;
};

}  // namespace

std::unique_ptr<ArtworkChooser> make_cuda_artwork_chooser(const Artwork& artwork, int device) {
  return std::make_unique<CudaArtworkChooser>(artwork, device);
}

}  // namespace marquee::cuda
