// FAISS's k-means training loop (faiss::Clustering::train of FAISS 1.7.3, faiss/Clustering.cpp) for
// spherical k-means, step for step, with the heavy step (assignment and centroid sums) supplied by a
// backend: the CPU step here (BLAS), the GPU step in host/cuda/cuda_kmeans.cu (cuBLAS + kernels).
// Everything else runs on the host with FAISS's own random generators and normalisation, so both
// backends follow FAISS's algorithm and seeds exactly:
//
//   1. subsample: when n > k x max_points_per_centroid, the first k x max_points_per_centroid
//      points of faiss::rand_perm(n, seed);
//   2. n == k: the centroids are the (original) points, no iteration;
//   3. initial centroids: the first k points of faiss::rand_perm(n, seed + 1), L2-normalised;
//   4. `iterations` times: assign each point to the centroid of largest inner product (ties: lower
//      centroid); centroid = mean of its points (float sums in point order); split_clusters: each
//      empty centroid copies a cluster drawn with probability (size - 1) / (n - k) by a
//      faiss::RandomGenerator(1234) made afresh each iteration, and the two are pushed apart by
//      1 +- 1/1024 per coordinate; L2-normalise (faiss::fvec_renorm_L2).
//
// tests/test_kmeans.cpp checks that the CPU twin reproduces faiss::Clustering's centroids.
#pragma once

#include "engine/segments.h"

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace marquee {

/// One Lloyd step over a fixed training set x (n x dim) on some backend: every point to the centroid
/// with the largest inner product (ties: the lower centroid); then `means` (k x dim) = the mean of
/// each centroid's points, summed in float in point order and scaled by 1 / count as FAISS's
/// compute_centroids does (zero rows for empty centroids), and `counts` (k) = points per centroid.
class LloydStep {
 public:
  virtual ~LloydStep() = default;
  virtual void run(const float* centroids, float* means, float* counts) = 0;
};

/// The CPU step: SGEMM by blocks of 4096 points and an argmax, then the sums. `x` must outlive it.
std::unique_ptr<LloydStep> make_cpu_lloyd_step(const float* x, size_t n, size_t dim, size_t k);

/// Makes the step for the training set it is given (which stays valid while the step is used).
using LloydStepFactory = std::function<std::unique_ptr<LloydStep>(const float* x, size_t n)>;

struct LloydOutcome {
  std::vector<float> centroids;  // k x dim, unit length (except in the n == k case: the points)
  size_t splits = 0;             // empty clusters split, summed over the iterations
  size_t training_points = 0;    // after FAISS's subsampling
};

/// Steps 1-4 above on n points (row-major n x dim), the step made by `make_step` (empty: the CPU
/// step). Arguments are checked by the caller (check_kmeans_arguments).
LloydOutcome spherical_lloyd(const float* points, size_t n, size_t dim, const KMeansOptions& options,
                             const LloydStepFactory& make_step);

/// spherical_kmeans (engine/segments.h) through this loop: the argument checks, spherical_lloyd with
/// `make_step` (empty: the CPU step, the twin of FAISS that tests compare with faiss::Clustering),
/// then the shared finish_kmeans. cuda::spherical_kmeans passes its GPU step; `segment --backend
/// cpu` uses FAISS itself.
KMeansResult lloyd_spherical_kmeans(const float* points, size_t n, size_t dim, const KMeansOptions& options,
                                    const LloydStepFactory& make_step = {});

}  // namespace marquee
