// GPU spherical k-means: FAISS's training loop (engine/kmeans_lloyd.h: subsample, seeds, splits of
// empty clusters, normalisation, all on the host with FAISS's own generators) with its heavy step on
// the device. Per iteration:
//
//   1. upload the k x dim centroids;
//   2. products of the training points with the centroids by cuBLAS SGEMM (fp32, in row tiles that
//      keep the n x k score matrix within a budget), then one warp per point takes the argmax
//      (ties: the lower centroid, as FAISS's search);
//   3. order the points by centroid (a stable radix sort of (centroid, point index), so each
//      centroid's points stay in index order), find each centroid's range (lower_bound);
//   4. one thread per (centroid, coordinate) sums its points in that order in float and scales by
//      1 / count: the same sums as FAISS's compute_centroids, deterministic, no atomics;
//   5. download the k x dim means and k counts; the host splits empty clusters and normalises.
//
// The training set stays on the device for the whole run. After training, the shared finish_kmeans
// (engine/segments.h) re-seeds segments left empty, as on the CPU.
#include "host/cuda/entry_points.h"
#include "engine/error.h"
#include "engine/kmeans_lloyd.h"
#include "host/cuda/cublas_handle.h"
#include "host/cuda/device_resources.h"
#include "kernels/kmeans_kernels.cuh"

#include <thrust/binary_search.h>
#include <thrust/copy.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/sequence.h>
#include <thrust/sort.h>
#include <thrust/system/cuda/execution_policy.h>
#include <thrust/system_error.h>

#include <algorithm>
#include <cstdint>
#include <memory>

namespace marquee::cuda {
namespace {

/// Thrust's temporary storage through the project's one allocator.
struct ThrustAllocator {
  using value_type = char;
  char* allocate(std::ptrdiff_t bytes) {
    return static_cast<char*>(DeviceAllocator::allocate(bytes > 0 ? size_t(bytes) : 1));
  }
  void deallocate(char* p, size_t) noexcept { DeviceAllocator::release(p); }
};

constexpr size_t kScoreBudgetFloats = size_t(64) << 20;  // 256 MiB of point x centroid products per tile

class GpuLloydStep final : public LloydStep {
 public:
  GpuLloydStep(const Resources& res, const CublasHandle& cublas, const float* x, size_t n, size_t dim, size_t k)
      : res_(res),
        cublas_(cublas),
        n_(n),
        dim_(dim),
        k_(k),
        tile_rows_(std::max<size_t>(1, std::min(n, kScoreBudgetFloats / k))),
        x_(n * dim),
        centroids_(k * dim),
        scores_(tile_rows_ * k),
        assign_(n),
        order_(n),
        offsets_(k + 1),
        means_(k * dim),
        counts_(k) {
    MARQUEE_CUDA_CHECK(cudaMemcpyAsync(x_.data(), x, n * dim * sizeof(float), cudaMemcpyHostToDevice, res_.stream()));
  }

  void run(const float* centroids, float* means, float* counts) override {
    const cudaStream_t stream = res_.stream();
    MARQUEE_CUDA_CHECK(
        cudaMemcpyAsync(centroids_.data(), centroids, k_ * dim_ * sizeof(float), cudaMemcpyHostToDevice, stream));
    // 2. Assignment. Row-major x (n x dim) is column-major dim x n; scores (rows x k, row-major) are
    //    column-major k x rows = centroids (dim x k, column-major)^T * x_tile.
    const float one = 1.0f, zero = 0.0f;
    for (size_t first = 0; first < n_; first += tile_rows_) {
      const size_t rows = std::min(tile_rows_, n_ - first);
      MARQUEE_CUBLAS_CHECK(cublasSgemm(cublas_.get(), CUBLAS_OP_T, CUBLAS_OP_N, int(k_), int(rows), int(dim_), &one,
                                       centroids_.data(), int(dim_), x_.data() + first * dim_, int(dim_), &zero,
                                       scores_.data(), int(k_)));
      kernels::argmax_rows(scores_.data(), rows, k_, assign_.data() + first, stream);
      MARQUEE_CUDA_CHECK(cudaGetLastError());
    }
    // 3. Points ordered by centroid, index order within (the radix sort is stable).
    ThrustAllocator alloc;
    const auto policy = thrust::cuda::par(alloc).on(stream);
    thrust::sequence(policy, order_.data(), order_.data() + n_);
    thrust::stable_sort_by_key(policy, assign_.data(), assign_.data() + n_, order_.data());
    thrust::lower_bound(policy, assign_.data(), assign_.data() + n_, thrust::counting_iterator<int32_t>(0),
                        thrust::counting_iterator<int32_t>(int32_t(k_ + 1)), offsets_.data());
    // 4. Means in FAISS's order; 5. back to the host.
    kernels::centroid_means(x_.data(), dim_, order_.data(), offsets_.data(), k_, means_.data(), counts_.data(), stream);
    MARQUEE_CUDA_CHECK(cudaGetLastError());
    MARQUEE_CUDA_CHECK(
        cudaMemcpyAsync(means, means_.data(), k_ * dim_ * sizeof(float), cudaMemcpyDeviceToHost, stream));
    MARQUEE_CUDA_CHECK(cudaMemcpyAsync(counts, counts_.data(), k_ * sizeof(float), cudaMemcpyDeviceToHost, stream));
    res_.sync();
  }

 private:
  const Resources& res_;
  const CublasHandle& cublas_;
  size_t n_, dim_, k_, tile_rows_;
  DeviceBuffer<float> x_, centroids_, scores_;
  DeviceBuffer<int32_t> assign_, order_;
  DeviceBuffer<int64_t> offsets_;
  DeviceBuffer<float> means_, counts_;
};

}  // namespace

bool kmeans_available() { return true; }

KMeansResult spherical_kmeans(const float* points, size_t n, size_t dim, const KMeansOptions& options, int device) {
  check_kmeans_arguments(points, n, dim, options);
  require_device(device, "GPU k-means");
  Resources res(device);
  CublasHandle cublas;
  MARQUEE_CUBLAS_CHECK(cublasSetStream(cublas.get(), res.stream()));
  // Plain fp32 products (no TF32 tensor cores): the assignment must match the CPU's.
  MARQUEE_CUBLAS_CHECK(cublasSetMathMode(cublas.get(), CUBLAS_DEFAULT_MATH));
  try {
    return lloyd_spherical_kmeans(points, n, dim, options, [&](const float* x, size_t nx) {
      return std::make_unique<GpuLloydStep>(res, cublas, x, nx, dim, options.k);
    });
  } catch (const thrust::system_error& e) {
    MARQUEE_THROW_AS(BackendError, "GPU k-means: {}", e.what());
  } catch (const std::bad_alloc& e) {  // Thrust's allocator reports device OOM this way too
    MARQUEE_THROW_AS(BackendError, "GPU k-means: out of memory ({})", e.what());
  }
}

}  // namespace marquee::cuda
