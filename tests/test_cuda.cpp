// GPU tests (CTest label "gpu"): every result is compared with the CPU backend on the same data.
// They skip (GTEST_SKIP) on machines without a CUDA device, and in builds without CUDA.
#include "engine/als.h"
#include "host/cuda/entry_points.h"
#include "host/cuda/cuda_scorer.h"
#include "gpu_test_util.h"
#include "engine/error.h"
#include "host/cuda/self_test.h"
#include "reference.h"
#include "host/backend/resolver.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <utility>
#include <vector>

using namespace marquee;
using namespace marquee::test;

namespace {


struct Data {
  TitleMatrix titles;
  std::vector<float> users;
  Exclusions exclusions;
  size_t n_users = 0;
};

// Random titles and users; user u % 7 == 3 has no signal (zero vector), u % 11 == 5 has every
// title excluded, the others about a fifth.
Data make_data(size_t users, size_t n_titles, size_t tags, size_t max_tags, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Data d{TitleMatrix::build(random_catalog(n_titles, tags, max_tags, rng)), {}, {}, users};
  std::normal_distribution<float> gauss;
  d.users.resize(users * tags);
  for (auto& x : d.users) x = gauss(rng);
  for (size_t u = 0; u < users; ++u) {
    if (u % 7 == 3) std::fill(d.users.begin() + u * tags, d.users.begin() + (u + 1) * tags, 0.0f);
    for (uint32_t t = 0; t < n_titles; ++t)
      if (u % 11 == 5 || rng() % 5 == 0) d.exclusions.titles.push_back(t);
    d.exclusions.offsets.push_back(d.exclusions.titles.size());
  }
  return d;
}

// Users [0, n) of d, with their exclusions.
Data first_users(const Data& d, size_t n) {
  Data h{d.titles, {d.users.begin(), d.users.begin() + n * d.titles.dim()}, {}, n};
  h.exclusions.offsets.assign(d.exclusions.offsets.begin(), d.exclusions.offsets.begin() + n + 1);
  h.exclusions.titles.assign(d.exclusions.titles.begin(), d.exclusions.titles.begin() + h.exclusions.offsets.back());
  return h;
}

TopKResult run(Scorer& s, const Data& d, size_t k) {
  TopKResult r;
  s.search(UserBatchView{d.n_users, d.titles.dim(), d.users.data(), &d.exclusions}, k, r);
  return r;
}

// Same titles in the same order except swaps of titles whose CPU scores differ by < tol.
void expect_matches_cpu(const TopKResult& gpu, const TopKResult& cpu, const Data& d, double tol, const std::string& ctx) {
  ASSERT_EQ(gpu.counts, cpu.counts) << ctx;
  const size_t k = cpu.k;
  for (size_t u = 0; u < d.n_users; ++u) {
    for (size_t r = 0; r < cpu.counts[u]; ++r) {
      const size_t i = u * k + r;
      ASSERT_NEAR(gpu.scores[i], cpu.scores[i], tol) << ctx << " user " << u << " rank " << r;
      if (gpu.titles[i] != cpu.titles[i]) {
        // Allowed only for a near-tie: the title the GPU put here must score like the CPU's.
        const float* uv = d.users.data() + u * d.titles.dim();
        double s = 0;
        for (size_t j = 0; j < d.titles.dim(); ++j) s += double(uv[j]) * d.titles.row(gpu.titles[i])[j];
        ASSERT_NEAR(s, cpu.scores[i], tol) << ctx << " user " << u << " rank " << r << ": title " << gpu.titles[i]
                                           << " vs " << cpu.titles[i];
      }
    }
  }
}

}  // namespace

TEST(CudaBackend, DeviceQueryNeverThrowsAndExplainsAnAbsence) {
  const cuda::DeviceReport r = cuda::query_devices();
  if (r.device_count == 0) EXPECT_FALSE(r.error.empty());
  else EXPECT_EQ(r.devices.size(), size_t(r.device_count));
}

TEST(CudaBackend, ProbeKernelRunsOnTheDevice) {
  SKIP_WITHOUT_DEVICE();
  const cuda::SelfTestResult r = cuda::self_test(0);
  EXPECT_TRUE(r.ran);
  EXPECT_TRUE(r.passed) << r.message;
}

TEST(CudaBackend, AskingForCudaWithoutADeviceIsABackendError) {
  if (have_cuda_device()) GTEST_SKIP() << "a device is present";
  std::mt19937_64 rng(1);
  const TitleMatrix m = TitleMatrix::build(random_catalog(3, 2, 2, rng));
  try {
    choose_scorer(Backend::Cuda, m);
    FAIL() << "expected BackendError";
  } catch (const BackendError& e) {
    EXPECT_NE(std::string(e.what()).find("--backend cuda:"), std::string::npos) << e.what();
  }
  const ScorerChoice auto_choice = choose_scorer(Backend::Auto, m);  // falls back to the CPU and says why
  EXPECT_NE(auto_choice.scorer->describe().find("cpu"), std::string::npos);
  EXPECT_NE(auto_choice.reason.find("auto:"), std::string::npos);
  // Fitting: cuda is refused up front, auto and cpu leave EASE's inverse on the CPU.
  EXPECT_THROW(choose_fit_backend(Backend::Cuda), BackendError);
  EXPECT_FALSE(bool(choose_fit_backend(Backend::Auto).spd_inverse));
  EXPECT_FALSE(bool(choose_fit_backend(Backend::Cpu).spd_inverse));
  std::vector<float> spd{2.0f, 0.0f, 0.0f, 2.0f};
  EXPECT_THROW(cuda::spd_inverse(2, spd.data()), BackendError);
}

struct GpuCase {
  size_t users, titles, tags, max_tags, k, users_per_tile, titles_per_tile;
};

class CudaVsCpu : public ::testing::TestWithParam<GpuCase> {};

TEST_P(CudaVsCpu, Fp32MatchesTheCpuBackend) {
  SKIP_WITHOUT_DEVICE();
  const GpuCase c = GetParam();
  const uint64_t seed = 1000 + c.users * 31 + c.titles * 7 + c.k;
  const Data d = make_data(c.users, c.titles, c.tags, c.max_tags, seed);
  CudaScorerOptions o;
  o.max_users_per_tile = c.users_per_tile;
  o.titles_per_tile = c.titles_per_tile;
  auto gpu = cuda::make_scorer(d.titles, o);
  auto cpu = make_cpu_scorer(d.titles);
  expect_matches_cpu(run(*gpu, d, c.k), run(*cpu, d, c.k), d, 1e-5,
                     "seed " + std::to_string(seed) + " k " + std::to_string(c.k));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CudaVsCpu,
    ::testing::Values(GpuCase{1, 1, 1, 1, 1, 64, 16384},          // tiny
                      GpuCase{37, 333, 29, 9, 1, 8, 100},          // odd shapes, K = 1, many tiles
                      GpuCase{70, 1000, 70, 20, 10, 33, 257},
                      GpuCase{50, 2000, 64, 12, 256, 17, 999},     // block path at its limit
                      GpuCase{50, 2000, 64, 12, 257, 17, 999},     // radix path from its start
                      GpuCase{20, 7000, 40, 10, 5000, 7, 3000},    // K = 5000
                      GpuCase{23, 1500, 50, 10, 1500, 9, 700}),    // K = catalogue size
    [](const auto& info) {
      const GpuCase& c = info.param;
      return "u" + std::to_string(c.users) + "_t" + std::to_string(c.titles) + "_k" + std::to_string(c.k);
    });

TEST(CudaScorer, ExactTiesGoToTheLowerTitleOnBothPaths) {
  SKIP_WITHOUT_DEVICE();
  Catalog c;
  c.add_tag({"x", "g"});
  c.add_tag({"y", "g"});
  for (int t = 0; t < 600; ++t) {  // even titles identical, odd titles identical and lower
    c.add_title({"t" + std::to_string(t), "", 100, 0});
    c.add_assignment({uint32_t(t), 0, 1.0f});
    if (t % 2) c.add_assignment({uint32_t(t), 1, 1.0f});
  }
  const TitleMatrix m = TitleMatrix::build(c);
  const float user[2] = {1.0f, 0.0f};
  for (size_t k : {size_t(3), size_t(300), size_t(301), size_t(600)}) {
    TopKResult g, r;
    CudaScorerOptions o;
    o.titles_per_tile = 128;
    cuda::make_scorer(m, o)->search(UserBatchView{1, 2, user, nullptr}, k, g);
    make_cpu_scorer(m)->search(UserBatchView{1, 2, user, nullptr}, k, r);
    EXPECT_EQ(g.titles, r.titles) << "k " << k;
    EXPECT_EQ(g.counts, r.counts) << "k " << k;
  }
}

TEST(CudaScorer, ReducedPrecisionKeepsRecallAbove99Percent) {
  SKIP_WITHOUT_DEVICE();
  const Data d = make_data(200, 5000, 256, 30, 77);
  auto exact = cuda::make_scorer(d.titles);
  const size_t k = 100;
  const TopKResult ref = run(*exact, d, k);
  for (GpuPrecision p : {GpuPrecision::Bf16, GpuPrecision::Fp16, GpuPrecision::Tf32}) {
    CudaScorerOptions o;
    o.precision = p;
    const TopKResult got = run(*cuda::make_scorer(d.titles, o), d, k);
    size_t hits = 0, total = 0;
    for (size_t u = 0; u < d.n_users; ++u) {
      std::set<uint32_t> want(ref.titles.begin() + u * k, ref.titles.begin() + u * k + ref.counts[u]);
      for (size_t r = 0; r < got.counts[u]; ++r) hits += want.count(got.titles[u * k + r]);
      total += want.size();
    }
    // Users with no signal score every title 0 and are all ties; they are not what recall measures.
    EXPECT_GE(double(hits) / double(total), 0.99) << gpu_precision_name(p);
  }
}

TEST(CudaScorer, TinyMemoryBudgetStillWorksOrSaysWhy) {
  SKIP_WITHOUT_DEVICE();
  const Data d = make_data(100, 3000, 64, 10, 5);
  CudaScorerOptions o;
  o.memory_budget = 1u << 20;  // about ten users per tile
  const TopKResult g = run(*cuda::make_scorer(d.titles, o), d, 20);
  const TopKResult c = run(*make_cpu_scorer(d.titles), d, 20);
  expect_matches_cpu(g, c, d, 1e-5, "1 MiB budget");
  o.memory_budget = 1024;
  EXPECT_THROW(run(*cuda::make_scorer(d.titles, o), d, 20), ArgumentError);
}

namespace {
std::vector<Interaction> als_interactions() {
  std::mt19937_64 rng(21);
  std::vector<Interaction> in;
  for (uint32_t u = 0; u < 300; ++u)
    for (int i = 0; i < 12; ++i)
      in.push_back({u, uint32_t(rng() % 200), float(int(rng() % 200) - 60) / 140.0f});
  in.push_back({0, 0, 0.5f});  // a duplicate pair, summed by both
  return in;
}
}  // namespace

// Every path of the kernel: small systems in shared memory, >48 KiB of shared memory (opt-in, 128
// factors), and the global-memory workspace (256 factors); Hu et al.'s options and Rendle et al.'s
// (w0 < 1, frequency-scaled lambda).
TEST(CudaAls, MatchesTheCpuTrainer) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<Interaction> in = als_interactions();
  struct Case {
    size_t factors;
    float w0, nu;
  };
  for (const Case c : {Case{8, 1, 0}, Case{33, 1, 0}, Case{64, 0.25f, 0.5f}, Case{128, 0.1f, 1.0f},
                       Case{256, 0.5f, 0.25f}}) {
    AlsOptions o;
    o.factors = c.factors;
    o.iterations = 4;
    o.unobserved_weight = c.w0;
    o.reg_exponent = c.nu;
    o.regularization = c.nu > 0 ? 0.05f : 20.0f;
    const AlsModel cpu = train_als(300, 210, in, o);  // titles 200..209 have no interactions
    const AlsModel gpu = cuda::train_als(300, 210, in, o);
    const std::string what = fmt::format("factors {} w0 {} nu {}", c.factors, c.w0, c.nu);
    ASSERT_EQ(gpu.user_factors.size(), cpu.user_factors.size());
    for (size_t i = 0; i < cpu.user_factors.size(); ++i)
      ASSERT_NEAR(gpu.user_factors[i], cpu.user_factors[i], 1e-3) << what << " user value " << i;
    for (size_t i = 0; i < cpu.title_factors.size(); ++i)
      ASSERT_NEAR(gpu.title_factors[i], cpu.title_factors[i], 1e-3) << what << " title value " << i;
    EXPECT_EQ(gpu.title_seen, cpu.title_seen);
  }
  AlsOptions too_many;
  too_many.factors = 1025;
  EXPECT_THROW(cuda::train_als(300, 210, in, too_many), ArgumentError);
}

// The fold-in twin solves a batch of users exactly as the CPU does, and keeps working when the
// half-step changes under it (another model).
TEST(CudaAls, FoldInMatchesTheCpu) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<Interaction> in = als_interactions();
  const AlsRowSolver gpu = cuda::make_als_row_solver();
  for (const size_t factors : {size_t(32), size_t(160)}) {
    AlsOptions o;
    o.factors = factors;
    o.iterations = 3;
    o.unobserved_weight = 0.3f;
    o.reg_exponent = 0.5f;
    o.regularization = 0.1f;
    const AlsModel m = train_als(300, 210, in, o);
    const AlsHalfStep step(m.title_factors.data(), m.titles, factors, o);
    const AlsCsr rows = build_als_csr(300, in, true, o.alpha);
    std::vector<float> cpu(300 * factors), dev(300 * factors);
    ASSERT_EQ(als_solve_rows(step, rows, cpu.data()), 0u);
    gpu(step, rows, dev.data());
    for (size_t i = 0; i < cpu.size(); ++i) ASSERT_NEAR(dev[i], cpu[i], 1e-3) << "factors " << factors << " value " << i;
  }
}

// The block path's queue merge is decided by the whole block (kernels/select_k_block.cu): with a
// first title tile the threshold is -inf, every selectable score enters the queue and it reaches its
// limit every few passes, where a warp that read the queue length late used to merge alone (a hang,
// or lost or duplicated entries). K = 224..256 is the largest bucket (P = 256), nearest its limit.
// Small on purpose: bench/gpu/check.sh also runs it under compute-sanitizer racecheck.
TEST(CudaBlockSelect, FirstTileNearCapacityMatchesTheCpu) {
  SKIP_WITHOUT_DEVICE();
  const Data d = make_data(33, 2500, 48, 12, 224);
  CudaScorerOptions o;
  o.titles_per_tile = 4096;  // one title tile: every row starts from an empty state
  auto gpu = cuda::make_scorer(d.titles, o);
  auto cpu = make_cpu_scorer(d.titles);
  for (size_t k : {size_t(224), size_t(240), size_t(255), size_t(256)}) {
    expect_matches_cpu(run(*gpu, d, k), run(*cpu, d, k), d, 1e-5, "k " + std::to_string(k));
  }
}

// A CUDA or cuBLAS error after a tile is launched (injected through the scorer's hook) must not
// leave a lane marked busy: the next search would collect the old tile into its own output (a heap
// overflow when that batch is smaller). Faults at both hook points, on both selection paths.
TEST(CudaScorer, AFaultMidBatchLeavesNoStaleTileForTheNextBatch) {
  SKIP_WITHOUT_DEVICE();
  const Data d = make_data(100, 3000, 64, 10, 8);
  const Data small = first_users(d, 3);
  auto cpu = make_cpu_scorer(d.titles);
  for (const auto point : {cuda::ScorerHookPoint::TileQueued, cuda::ScorerHookPoint::TileCollected}) {
    for (size_t k : {size_t(10), size_t(300)}) {
      const std::string ctx =
          std::string(point == cuda::ScorerHookPoint::TileQueued ? "queued" : "collected") + " k " + std::to_string(k);
      size_t batch_users = d.n_users, calls = 0;
      bool inject = true;
      std::vector<std::pair<size_t, size_t>> collected;
      auto hook = [&](cuda::ScorerHookPoint at, size_t first, size_t count) {
        if (at == cuda::ScorerHookPoint::TileCollected) {
          EXPECT_LE(first + count, batch_users) << ctx << ": a tile of an earlier batch was collected";
          collected.emplace_back(first, count);
        }
        if (inject && at == point && ++calls == 2) throw BackendError("injected fault");
      };
      CudaScorerOptions o;
      o.max_users_per_tile = 16;  // 7 tiles over the 2 lanes
      auto gpu = cuda::make_cuda_scorer(d.titles, o, hook);
      EXPECT_THROW(run(*gpu, d, k), BackendError) << ctx;
      inject = false;
      collected.clear();
      batch_users = small.n_users;
      expect_matches_cpu(run(*gpu, small, k), run(*cpu, small, k), small, 1e-5, ctx + ", 3 users after the fault");
      EXPECT_EQ(collected, (std::vector<std::pair<size_t, size_t>>{{0, 3}})) << ctx;
      batch_users = d.n_users;
      expect_matches_cpu(run(*gpu, d, k), run(*cpu, d, k), d, 1e-5, ctx + ", the whole batch again");
    }
  }
}

// --device reaches every GPU entry point: one past the last device is refused by each, not run on
// device 0.
TEST(CudaBackend, EveryEntryPointRefusesADeviceThatDoesNotExist) {
  SKIP_WITHOUT_DEVICE();
  const int missing = cuda::query_devices().device_count;
  std::mt19937_64 rng(3);
  const Catalog c = random_catalog(20, 6, 3, rng);
  const TitleMatrix m = TitleMatrix::build(c);
  CudaScorerOptions so;
  so.device = missing;
  EXPECT_THROW(cuda::make_scorer(m, so), ArgumentError);
  AlsOptions ao;
  ao.factors = 4;
  EXPECT_THROW(cuda::train_als(3, 20, {{0, 1, 1.0f}}, ao, {}, missing), ArgumentError);
  EXPECT_THROW(cuda::build_profiles(c, m, {}, {"u0"}, {}, nullptr, missing), ArgumentError);
  std::vector<float> x(8 * 4, 0.5f);
  KMeansOptions ko;
  ko.k = 2;
  EXPECT_THROW(cuda::spherical_kmeans(x.data(), 8, 4, ko, missing), ArgumentError);
  EXPECT_THROW(choose_kmeans_backend(Backend::Cuda, missing).train(x.data(), 8, 4, ko), ArgumentError);
  EXPECT_THROW(choose_als_trainer(Backend::Cuda, missing)(3, 20, {{0, 1, 1.0f}}, ao), ArgumentError);
  std::vector<float> spd{2.0f, 0.0f, 0.0f, 2.0f};
  EXPECT_THROW(cuda::spd_inverse(2, spd.data(), missing), ArgumentError);
}

namespace {
// A random symmetric positive definite n x n matrix (row-major, both triangles): A A^T / n + I.
std::vector<float> random_spd(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> gauss;
  std::vector<float> a(n * n), g(n * n, 0.0f);
  for (auto& x : a) x = gauss(rng);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i; j < n; ++j) {
      double s = 0;
      for (size_t k = 0; k < n; ++k) s += double(a[i * n + k]) * a[j * n + k];
      g[i * n + j] = g[j * n + i] = float(s / double(n) + (i == j ? 1.0 : 0.0));
    }
  return g;
}
}  // namespace

// EASE's inverse (host/cuda/cuda_solver.cu) against LAPACK on the same matrix, upper triangle.
TEST(CudaSpdInverse, MatchesLapack) {
  SKIP_WITHOUT_DEVICE();
  for (size_t n : {size_t(1), size_t(37), size_t(700), size_t(2500)}) {
    const std::vector<float> g = random_spd(n, n);
    std::vector<float> cpu = g, gpu = g;
    cpu_spd_inverse(n, cpu.data());
    ASSERT_TRUE(cuda::spd_inverse(n, gpu.data()));
    double worst = 0;
    for (size_t i = 0; i < n; ++i)
      for (size_t j = i; j < n; ++j)
        worst = std::max(worst, std::fabs(double(gpu[i * n + j]) - cpu[i * n + j]) / (1e-3 + std::fabs(cpu[i * n + j])));
    EXPECT_LT(worst, 1e-3) << "n " << n;
  }
  std::vector<float> indefinite{1.0f, 2.0f, 2.0f, 1.0f};  // eigenvalues 3 and -1
  EXPECT_THROW(cuda::spd_inverse(2, indefinite.data()), InputError);
}

// The resolver's fit backend puts EASE's inverse on the GPU (from 2,048 titles) and the fitted
// weights match the CPU fit's.
TEST(CudaSpdInverse, EaseFittedOnTheGpuMatchesTheCpu) {
  SKIP_WITHOUT_DEVICE();
  const size_t n = 2100;
  const std::vector<float> g = random_spd(n, 5);
  std::vector<float> cpu = g, gpu = g;
  cpu_spd_inverse(n, cpu.data());
  const FitBackend fb = choose_fit_backend(Backend::Cuda);
  ASSERT_TRUE(bool(fb.spd_inverse));
  fb.spd_inverse(n, gpu.data());
  for (size_t i = 0; i < n; i += 97)
    for (size_t j = i; j < n; j += 89) ASSERT_NEAR(gpu[i * n + j], cpu[i * n + j], 1e-3 * (1e-3 + std::fabs(cpu[i * n + j])) + 1e-5);
}
