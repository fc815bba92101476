// GPU spherical k-means (label "gpu"): cuda::spherical_kmeans against FAISS on the CPU
// (marquee::spherical_kmeans) on the same data and seeds: centroids within 1e-3 and assignments of
// the points agreeing on at least 99.5 % of them. Skipped without a device.
#include "host/cuda/entry_points.h"
#include "engine/error.h"
#include "engine/segments.h"
#include "gpu_test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace marquee;
using namespace marquee::test;

namespace {

// n unit vectors around `clusters` random unit directions (noise of norm about `spread`, so the
// clusters are apart and near-ties between centroids, where float rounding may decide, are rare);
// uniform with clusters = 0.
std::vector<float> unit_points(size_t n, size_t dim, size_t clusters, float spread, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> gauss;
  std::vector<float> centres(std::max<size_t>(clusters, 1) * dim), x(n * dim);
  for (auto& c : centres) c = gauss(rng) / std::sqrt(float(dim));
  for (size_t i = 0; i < n; ++i) {
    const size_t c = clusters ? size_t(rng() % clusters) : 0;
    double norm = 0;
    for (size_t j = 0; j < dim; ++j) {
      float& v = x[i * dim + j];
      v = clusters ? centres[c * dim + j] + spread * gauss(rng) / std::sqrt(float(dim)) : gauss(rng);
      norm += double(v) * v;
    }
    for (size_t j = 0; j < dim; ++j) x[i * dim + j] = float(x[i * dim + j] / std::sqrt(norm));
  }
  return x;
}

void expect_agrees_with_faiss(const std::vector<float>& x, size_t dim, const KMeansOptions& o, const std::string& ctx) {
  const size_t n = x.size() / dim;
  const KMeansResult cpu = spherical_kmeans(x.data(), n, dim, o);
  const KMeansResult gpu = cuda::spherical_kmeans(x.data(), n, dim, o);
  ASSERT_EQ(gpu.k, cpu.k) << ctx;
  ASSERT_EQ(gpu.centroids.size(), cpu.centroids.size()) << ctx;
  double worst = 0;
  for (size_t i = 0; i < cpu.centroids.size(); ++i)
    worst = std::max(worst, double(std::fabs(gpu.centroids[i] - cpu.centroids[i])));
  EXPECT_LT(worst, 1e-3) << ctx << ": largest centroid coordinate difference";
  std::vector<int32_t> a(n), b(n);
  assign_segments(x.data(), n, dim, cpu, a.data());
  assign_segments(x.data(), n, dim, gpu, b.data());
  size_t same = 0;
  for (size_t i = 0; i < n; ++i) same += a[i] == b[i];
  EXPECT_GE(double(same), 0.995 * double(n)) << ctx << ": " << same << " of " << n << " points in the same segment";
  EXPECT_EQ(gpu.faiss_splits, cpu.faiss_splits) << ctx;
  EXPECT_EQ(gpu.reseeded, cpu.reseeded) << ctx;
}

}  // namespace

TEST(CudaKMeans, MatchesFaissOnTheCpu) {
  SKIP_WITHOUT_DEVICE();
  struct Case {
    size_t n, dim, k, clusters, max_points;
    uint64_t data_seed, seed;
  };
  // Plain; FAISS's subsample (n > k x max_points); k = 1; k > 32 and dims not multiples of 32;
  // fewer centroids than clusters; the demo's shape (400 tags) with a subsample.
  const Case cases[] = {{5000, 64, 16, 16, 256, 1, 1234}, {20000, 100, 10, 10, 256, 2, 1234},
                        {777, 33, 1, 3, 256, 3, 9},       {9000, 131, 70, 90, 256, 4, 42},
                        {3000, 16, 6, 12, 256, 5, 7},     {4097, 400, 8, 8, 100, 6, 1234}};
  for (const Case& c : cases) {
    KMeansOptions o;
    o.k = c.k;
    o.seed = c.seed;
    o.max_points_per_centroid = c.max_points;
    const std::string ctx = "n " + std::to_string(c.n) + " dim " + std::to_string(c.dim) + " k " + std::to_string(c.k) +
                            " data seed " + std::to_string(c.data_seed) + " seed " + std::to_string(c.seed);
    expect_agrees_with_faiss(unit_points(c.n, c.dim, c.clusters, 0.3f, c.data_seed), c.dim, o, ctx);
  }
}

TEST(CudaKMeans, SplitsEmptyClustersAsFaissDoes) {
  SKIP_WITHOUT_DEVICE();
  // 280 copies of one point among 300: repeated initial centroids, ties, empty clusters, splits.
  const size_t dim = 10;
  std::vector<float> x = unit_points(300, dim, 0, 0, 11);
  for (size_t i = 0; i < 280; ++i) std::copy(x.begin(), x.begin() + dim, x.begin() + i * dim);
  KMeansOptions o;
  o.k = 8;
  o.iterations = 10;
  const KMeansResult cpu = spherical_kmeans(x.data(), 300, dim, o);
  ASSERT_GT(cpu.faiss_splits, 0u);
  expect_agrees_with_faiss(x, dim, o, "duplicates");
}

TEST(CudaKMeans, CallerMistakesAndAbsentDevices) {
  std::vector<float> x = unit_points(10, 4, 0, 0, 1);
  KMeansOptions o;
  o.k = 3;
  if (!have_cuda_device() || !cuda::kmeans_available()) {
    EXPECT_THROW(cuda::spherical_kmeans(x.data(), 10, 4, o), BackendError);
    GTEST_SKIP() << "no CUDA device: " << cuda::query_devices().error;
  }
  o.k = 11;
  EXPECT_THROW(cuda::spherical_kmeans(x.data(), 10, 4, o), ArgumentError);
  o.k = 10;  // as many points as segments: the points themselves
  const KMeansResult r = cuda::spherical_kmeans(x.data(), 10, 4, o);
  EXPECT_EQ(r.centroids, x);
}
