// Spherical k-means (engine/kmeans_lloyd.h, engine/segments.h): the host twin of FAISS's training
// loop, which the GPU backend runs with its device step, reproduces faiss::Clustering's centroids on
// the same data and seeds (plain, subsampled, with empty clusters split, n == k); centring on the
// mean user by hand; balanced segments on generated data; `project --trailers` segments as `segment`.
#include "engine/backend.h"
#include "engine/error.h"
#include "engine/kmeans_lloyd.h"
#include "engine/segments.h"
#include "gpu_test_util.h"
#include "generated_data.h"
#include "host/jobs/projection_jobs.h"
#include "test_util.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>

#include <cmath>
#include <random>

using namespace marquee;
using namespace marquee::test;

namespace {

void normalise_rows(std::vector<float>& x, size_t dim) {
  for (size_t i = 0; i < x.size() / dim; ++i) {
    double n = 0;
    for (size_t j = 0; j < dim; ++j) n += double(x[i * dim + j]) * x[i * dim + j];
    for (size_t j = 0; j < dim; ++j) x[i * dim + j] = float(x[i * dim + j] / std::sqrt(n));
  }
}

// n unit vectors: around `clusters` random directions (noise sd `spread`), or uniform with clusters = 0.
std::vector<float> sphere_points(size_t n, size_t dim, size_t clusters, float spread, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> gauss;
  std::vector<float> centres(std::max<size_t>(clusters, 1) * dim);
  for (auto& c : centres) c = gauss(rng);
  normalise_rows(centres, dim);
  std::vector<float> x(n * dim);
  for (size_t i = 0; i < n; ++i) {
    const size_t c = clusters ? size_t(rng() % clusters) : 0;
    for (size_t j = 0; j < dim; ++j)
      x[i * dim + j] = clusters ? centres[c * dim + j] + spread * gauss(rng) : gauss(rng);
  }
  normalise_rows(x, dim);
  return x;
}

struct FaissRun {
  std::vector<float> centroids;
  size_t splits = 0;
};

// faiss::Clustering as engine/segments.cpp configures it, without the finishing step.
FaissRun faiss_kmeans(const std::vector<float>& x, size_t dim, const KMeansOptions& o) {
  faiss::ClusteringParameters cp;
  cp.niter = int(o.iterations);
  cp.spherical = true;
  cp.seed = int(o.seed & 0x7fffffff);
  cp.min_points_per_centroid = 1;
  cp.max_points_per_centroid = int(o.max_points_per_centroid);
  faiss::Clustering clus(int(dim), int(o.k), cp);
  faiss::IndexFlatIP index{faiss::Index::idx_t(dim)};
  clus.train(faiss::Index::idx_t(x.size() / dim), x.data(), index);
  FaissRun r{clus.centroids, 0};
  for (const auto& st : clus.iteration_stats) r.splits += size_t(st.nsplit);
  return r;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

struct TwinCase {
  const char* name;
  size_t n, dim, k, clusters, max_points, iterations;
  uint64_t data_seed, seed;
};

}  // namespace

TEST(KMeansLloyd, HostTwinReproducesFaissClustering) {
  const TwinCase cases[] = {
      {"clustered", 3000, 24, 12, 12, 256, 25, 1, 1234},
      {"subsampled (3000 > 12 x 100)", 3000, 24, 12, 12, 100, 25, 2, 1234},
      {"uniform, other seed", 2000, 16, 10, 0, 256, 25, 3, 77},
      {"k = 1", 500, 9, 1, 3, 256, 10, 4, 5},
      {"k > 32, dim not a multiple of 32", 4000, 37, 40, 60, 256, 15, 5, 99},
      {"a large seed", 1500, 12, 7, 7, 256, 20, 6, 0xfffffffffull},
  };
  for (const TwinCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.name << ": n " << c.n << " dim " << c.dim << " k " << c.k << " data seed "
                                      << c.data_seed << " seed " << c.seed);
    const std::vector<float> x = sphere_points(c.n, c.dim, c.clusters, 0.35f, c.data_seed);
    KMeansOptions o;
    o.k = c.k;
    o.iterations = c.iterations;
    o.seed = c.seed;
    o.max_points_per_centroid = c.max_points;
    const FaissRun want = faiss_kmeans(x, c.dim, o);
    const LloydOutcome got = spherical_lloyd(x.data(), c.n, c.dim, o, {});
    EXPECT_EQ(got.training_points, std::min(c.n, c.k * c.max_points));
    EXPECT_EQ(got.splits, want.splits);
    EXPECT_LT(max_abs_diff(got.centroids, want.centroids), 1e-5);
  }
}

TEST(KMeansLloyd, EmptyClustersAreSplitAsFaissSplitsThem) {
  // 280 copies of one point and 20 others: initial centroids repeat, ties send every point to the
  // lower copy and the others come out empty, so split_clusters runs (FAISS's generator, seed 1234).
  const size_t dim = 10, k = 8;
  std::vector<float> x = sphere_points(300, dim, 0, 0, 11);
  for (size_t i = 0; i < 280; ++i) std::copy(x.begin(), x.begin() + dim, x.begin() + i * dim);
  KMeansOptions o;
  o.k = k;
  o.iterations = 10;
  const FaissRun want = faiss_kmeans(x, dim, o);
  ASSERT_GT(want.splits, 0u) << "the case must exercise split_clusters";
  const LloydOutcome got = spherical_lloyd(x.data(), 300, dim, o, {});
  EXPECT_EQ(got.splits, want.splits);
  EXPECT_LT(max_abs_diff(got.centroids, want.centroids), 1e-5);
  // The whole pipeline (FAISS or the twin, then the shared finishing step) leaves no segment empty.
  const KMeansResult faiss = spherical_kmeans(x.data(), 300, dim, o);
  const KMeansResult twin = lloyd_spherical_kmeans(x.data(), 300, dim, o);
  EXPECT_EQ(twin.faiss_splits, faiss.faiss_splits);
  EXPECT_EQ(twin.reseeded, faiss.reseeded);
  EXPECT_LT(max_abs_diff(twin.centroids, faiss.centroids), 1e-5);
  EXPECT_NEAR(twin.objective, faiss.objective, 1e-3);
  std::vector<int32_t> seg(300);
  assign_segments(x.data(), 300, dim, twin, seg.data());
  std::vector<size_t> count(k, 0);
  for (int32_t s : seg) ++count[size_t(s)];
  for (size_t c = 0; c < k; ++c) EXPECT_GT(count[c], 0u) << "segment " << c;
}

TEST(KMeansLloyd, AsManyPointsAsCentroidsCopiesThePoints) {
  const std::vector<float> x = sphere_points(6, 5, 0, 0, 21);
  KMeansOptions o;
  o.k = 6;
  const LloydOutcome got = spherical_lloyd(x.data(), 6, 5, o, {});
  EXPECT_EQ(got.centroids, x);
  EXPECT_EQ(max_abs_diff(got.centroids, faiss_kmeans(x, 5, o).centroids), 0.0);
}

TEST(KMeansLloyd, CallerMistakesAreArgumentErrors) {
  std::vector<float> x = sphere_points(10, 4, 0, 0, 1);
  KMeansOptions o;
  o.k = 11;
  EXPECT_THROW(lloyd_spherical_kmeans(x.data(), 10, 4, o), ArgumentError);
  o.k = 0;
  EXPECT_THROW(lloyd_spherical_kmeans(x.data(), 10, 4, o), ArgumentError);
  o.k = 2;
  x[7] = std::nanf("");
  EXPECT_THROW(lloyd_spherical_kmeans(x.data(), 10, 4, o), ArgumentError);
  EXPECT_THROW(spherical_kmeans(x.data(), 10, 4, o), ArgumentError);
}

TEST(KMeansCentring, HandChecked) {
  // mean of (1, 0), (0, 1), (0.6, 0.8) = (1.6 / 3, 0.6); (1, 0) - mean = (7 / 15, -0.6).
  std::vector<float> rows{1, 0, 0, 1, 0.6f, 0.8f, 0, 0};
  UserProfiles p;
  p.dim = 2;
  p.vectors = rows;
  p.summaries.resize(4);
  for (size_t u = 0; u < 3; ++u) p.summaries[u].usable = 1;  // the zero row is a user without signal
  p.user_ids = {"a", "b", "c", "d"};
  p.seen_offsets.assign(5, 0);
  UserMean mean;
  mean.add(p);
  EXPECT_EQ(mean.users(), 3u);
  const std::vector<float> m = mean.mean();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_NEAR(m[0], 1.6 / 3, 1e-7);
  EXPECT_NEAR(m[1], 0.6, 1e-7);
  center_rows(rows.data(), 4, 2, m.data());
  const double a0 = 7.0 / 15, a1 = -0.6, an = std::sqrt(a0 * a0 + a1 * a1);
  EXPECT_NEAR(rows[0], a0 / an, 1e-6);
  EXPECT_NEAR(rows[1], a1 / an, 1e-6);
  EXPECT_EQ(rows[6], 0.0f);  // zero rows stay zero
  EXPECT_EQ(rows[7], 0.0f);
  std::vector<float> at_mean = m;
  center_rows(at_mean.data(), 1, 2, m.data());
  EXPECT_EQ(at_mean, std::vector<float>({0.0f, 0.0f}));  // no direction left

  // Assignment with a mean: (0.8, 0.6) is nearer (1, 0) as it is, but (0, 1) once centred on
  // (0.9, 0.1): (-0.1, 0.5) / |.| has cosine 0.5 / sqrt(0.26) with (0, 1).
  KMeansResult km;
  km.k = 2;
  km.dim = 2;
  km.centroids = {1, 0, 0, 1};
  const float v[4] = {0.8f, 0.6f, 0, 0};
  int32_t seg[2];
  float sim[2];
  assign_segments(v, 2, 2, km, seg, sim);
  EXPECT_EQ(seg[0], 0);
  EXPECT_EQ(seg[1], -1);
  km.mean = {0.9f, 0.1f};
  assign_segments(v, 2, 2, km, seg, sim);
  EXPECT_EQ(seg[0], 1);
  EXPECT_NEAR(sim[0], 0.5 / std::sqrt(0.26), 1e-6);
  EXPECT_EQ(seg[1], -1) << "a user without signal stays unassigned";
}

// ------------------------------------------------------------------------------------------------
// Segments on generated data
// ------------------------------------------------------------------------------------------------

class SegmentBalance : public GeneratedDataTest<SegmentBalance> {
 public:
  static GenOptions generator_options() {
    GenOptions g = gen_options(3000, 300, 80, 3);
    g.mean_titles_per_user = 20;
    return g;
  }

 protected:
  static SegmentJobOptions options(size_t k, const std::string& out) {
    SegmentJobOptions o;
    o.input.catalog_dir = catalog();
    o.input.events_path = events();
    o.kmeans.k = k;
    o.out_path = dir() + "/" + out;
    o.backend = Backend::Cpu;
    return o;
  }
  static std::vector<size_t> sizes(const nlohmann::json& j) {
    std::vector<size_t> s;
    for (const auto& d : j["descriptions"]) s.push_back(d["users"].get<size_t>());
    return s;
  }
};

TEST_F(SegmentBalance, CentredSegmentsAreBalanced) {
  const nlohmann::json centred = run_segment_job(options(8, "c.csv"), nullptr);
  SegmentJobOptions raw_options = options(8, "r.csv");
  raw_options.kmeans.center = false;
  const nlohmann::json raw = run_segment_job(raw_options, nullptr);
  const double share = centred["largest_share"].get<double>(), raw_share = raw["largest_share"].get<double>();
  std::cout << "K = 8 on 3000 generated users: largest segment " << 100 * share << " % centred, " << 100 * raw_share
            << " % raw; sizes centred:";
  for (size_t s : sizes(centred)) std::cout << " " << s;
  std::cout << "\n";
  EXPECT_TRUE(centred["centered"].get<bool>());
  EXPECT_FALSE(raw["centered"].get<bool>());
  EXPECT_LE(share, 0.5) << "no segment may hold more than half of the users";
  EXPECT_LT(share, raw_share) << "centring is what balances them";
  for (size_t s : sizes(centred)) EXPECT_GT(s, 0u);
  EXPECT_TRUE(centred["reseeded"].is_array());
  // The mean is persisted with the centroids: one row per tag, and it is the mean usable user.
  const auto mean_rows = lines(read_text(dir() + "/c.mean.csv"));
  EXPECT_EQ(mean_rows.size(), 81u);
  EXPECT_EQ(mean_rows[0], "tag,value");
  EXPECT_FALSE(std::filesystem::exists(dir() + "/r.mean.csv"));
}

TEST_F(SegmentBalance, ProjectTrailersSegmentsAsSegmentDoes) {
  // `project --trailers K` without --segments runs the same training and centred assignment.
  const nlohmann::json seg = run_segment_job(options(4, "s4.csv"), nullptr);
  const std::string tag = split(lines(read_text(catalog() + "/tags.csv"))[1], ',')[0];
  write_text(dir() + "/new.csv", "title_id,tag,weight\nx1," + tag + ",1\n");
  ProjectJobOptions p;
  p.input.catalog_dir = catalog();
  p.input.events_path = events();
  p.new_titles_path = dir() + "/new.csv";
  p.space = ProjectionSpace::Tags;
  p.backend = Backend::Cpu;
  p.trailers = 4;
  p.out_path = dir() + "/p.json";
  const nlohmann::json proj = run_project_job(p, nullptr);
  std::vector<size_t> from_project;
  for (const auto& s : proj["titles"][0]["segments"]) from_project.push_back(s["users"].get<size_t>());
  EXPECT_EQ(from_project, sizes(seg));
}

TEST_F(SegmentBalance, KLargerThanTheUsersAndCudaWithoutADeviceAreClearErrors) {
  try {
    run_segment_job(options(3001, "big.csv"), nullptr);
    ADD_FAILURE() << "K above the users must fail";
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("K must not exceed"), std::string::npos) << e.what();
  }
  if (have_cuda_device()) GTEST_SKIP() << "a device is present";
  SegmentJobOptions o = options(4, "g.csv");
  o.backend = Backend::Cuda;
  try {
    run_segment_job(o, nullptr);
    ADD_FAILURE() << "--backend cuda without a device must fail";
  } catch (const BackendError& e) {
    EXPECT_NE(std::string(e.what()).find("--backend cpu or auto"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir() + "/g.csv"));
}
