#include "engine/kmeans_lloyd.h"

#include "engine/error.h"

#include <cblas.h>
#include <faiss/utils/distances.h>
#include <faiss/utils/random.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace marquee {
namespace {

// FAISS's blocks for exhaustive inner-product search (exhaustive_inner_product_blas): 4096 queries
// by 1024 database vectors per SGEMM, called in the same shape so that the products agree.
constexpr size_t kQueryBlock = 4096, kCentroidBlock = 1024;

class CpuLloydStep final : public LloydStep {
 public:
  CpuLloydStep(const float* x, size_t n, size_t dim, size_t k)
      : x_(x), n_(n), dim_(dim), k_(k), assign_(n), ip_(std::min(n, kQueryBlock) * std::min(k, kCentroidBlock)) {}

  void run(const float* centroids, float* means, float* counts) override {
    std::vector<float> best(std::min(n_, kQueryBlock));
    for (size_t i0 = 0; i0 < n_; i0 += kQueryBlock) {
      const size_t ni = std::min(kQueryBlock, n_ - i0);
      for (size_t j0 = 0; j0 < k_; j0 += kCentroidBlock) {
        const size_t nj = std::min(kCentroidBlock, k_ - j0);
        // Column-major (nj x ni) = centroids_block (dim x nj)^T * x_block (dim x ni): row i of the
        // points is column i, its nj products contiguous.
        cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, int(nj), int(ni), int(dim_), 1.0f, centroids + j0 * dim_,
                    int(dim_), x_ + i0 * dim_, int(dim_), 0.0f, ip_.data(), int(nj));
        for (size_t i = 0; i < ni; ++i) {
          const float* row = ip_.data() + i * nj;
          for (size_t j = 0; j < nj; ++j)
            if ((j0 == 0 && j == 0) || row[j] > best[i]) {  // strict: a tie keeps the lower centroid
              best[i] = row[j];
              assign_[i0 + i] = uint32_t(j0 + j);
            }
        }
      }
    }
    // FAISS's compute_centroids: per centroid, float sums in point order, then x (1 / count).
    std::fill(means, means + k_ * dim_, 0.0f);
    std::fill(counts, counts + k_, 0.0f);
    for (size_t i = 0; i < n_; ++i) {
      const size_t c = assign_[i];
      counts[c] += 1.0f;
      float* m = means + c * dim_;
      const float* xi = x_ + i * dim_;
      for (size_t j = 0; j < dim_; ++j) m[j] += xi[j];
    }
    for (size_t c = 0; c < k_; ++c) {
      if (counts[c] == 0) continue;
      const float norm = 1 / counts[c];
      for (size_t j = 0; j < dim_; ++j) means[c * dim_ + j] *= norm;
    }
  }

 private:
  const float* x_;
  size_t n_, dim_, k_;
  std::vector<uint32_t> assign_;
  std::vector<float> ip_;
};

// FAISS's split_clusters (faiss/Clustering.cpp), unchanged: returns the number of splits.
size_t split_clusters(size_t d, size_t k, size_t n, float* hassign, float* centroids) {
  constexpr double kEps = 1 / 1024.;  // a bit above machine epsilon for float16
  size_t nsplit = 0;
  faiss::RandomGenerator rng(1234);
  for (size_t ci = 0; ci < k; ci++) {
    if (hassign[ci] != 0) continue;
    size_t cj;
    for (cj = 0; true; cj = (cj + 1) % k) {
      // probability to pick this cluster for split (the same mixed float/double arithmetic)
      const float p = (hassign[cj] - 1.0) / (float)(n - k);
      const float r = rng.rand_float();
      if (r < p) break;
    }
    std::memcpy(centroids + ci * d, centroids + cj * d, sizeof(*centroids) * d);
    // small symmetric perturbation
    for (size_t j = 0; j < d; j++) {
      if (j % 2 == 0) {
        centroids[ci * d + j] *= 1 + kEps;
        centroids[cj * d + j] *= 1 - kEps;
      } else {
        centroids[ci * d + j] *= 1 - kEps;
        centroids[cj * d + j] *= 1 + kEps;
      }
    }
    // assume an even split of the cluster
    hassign[ci] = hassign[cj] / 2;
    hassign[cj] -= hassign[ci];
    nsplit++;
  }
  return nsplit;
}

}  // namespace

std::unique_ptr<LloydStep> make_cpu_lloyd_step(const float* x, size_t n, size_t dim, size_t k) {
  return std::make_unique<CpuLloydStep>(x, n, dim, k);
}

LloydOutcome spherical_lloyd(const float* points, size_t n, size_t dim, const KMeansOptions& o,
                             const LloydStepFactory& make_step) {
  const size_t k = o.k;
  const int seed = int(o.seed & 0x7fffffff);  // faiss::ClusteringParameters::seed is an int
  const size_t max_points = std::max<size_t>(1, o.max_points_per_centroid);
  const size_t iterations = std::max<size_t>(1, o.iterations);
  MARQUEE_ASSERT(k >= 1 && k <= n && dim >= 1);

  // 1. FAISS's subsample: the first k x max_points of a permutation seeded with `seed`.
  const float* x = points;
  size_t nx = n;
  std::vector<float> sample;
  if (nx > k * max_points) {
    std::vector<int> perm(nx);
    faiss::rand_perm(perm.data(), nx, seed);
    nx = k * max_points;
    sample.resize(nx * dim);
    for (size_t i = 0; i < nx; ++i)
      std::memcpy(sample.data() + i * dim, points + size_t(perm[i]) * dim, dim * sizeof(float));
    x = sample.data();
  }
  LloydOutcome out;
  out.training_points = nx;
  // 2. As many points as centroids: FAISS copies its input (the caller's points, not the sample).
  if (nx == k) {
    out.centroids.assign(points, points + k * dim);
    return out;
  }
  // 3. Initial centroids: the first k of a permutation seeded with seed + 1 (an int sum in FAISS).
  out.centroids.resize(k * dim);
  {
    std::vector<int> perm(nx);
    faiss::rand_perm(perm.data(), nx, int64_t(int32_t(uint32_t(seed) + 1u)));
    for (size_t i = 0; i < k; ++i)
      std::memcpy(out.centroids.data() + i * dim, x + size_t(perm[i]) * dim, dim * sizeof(float));
  }
  faiss::fvec_renorm_L2(dim, k, out.centroids.data());
  // 4. Lloyd iterations.
  const std::unique_ptr<LloydStep> step = make_step ? make_step(x, nx) : make_cpu_lloyd_step(x, nx, dim, k);
  std::vector<float> means(k * dim), counts(k);
  for (size_t it = 0; it < iterations; ++it) {
    step->run(out.centroids.data(), means.data(), counts.data());
    out.splits += split_clusters(dim, k, nx, counts.data(), means.data());
    faiss::fvec_renorm_L2(dim, k, means.data());
    out.centroids.swap(means);
  }
  return out;
}

KMeansResult lloyd_spherical_kmeans(const float* points, size_t n, size_t dim, const KMeansOptions& o,
                                    const LloydStepFactory& make_step) {
  check_kmeans_arguments(points, n, dim, o);
  LloydOutcome out = spherical_lloyd(points, n, dim, o, make_step);
  KMeansResult r;
  r.k = o.k;
  r.dim = dim;
  r.centroids = std::move(out.centroids);
  r.faiss_splits = out.splits;
  finish_kmeans(points, n, dim, o, r);
  return r;
}

}  // namespace marquee
