// The CPU backend against the naive reference, on random data with the seed printed.
#include "engine/blas_cores.h"
#include "engine/dense_kernel.h"
#include "engine/error.h"
#include "engine/scorer.h"
#include "engine/title_matrix.h"
#include "reference.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>

using namespace marquee;
using namespace marquee::test;

namespace {

struct Case {
  size_t users, titles, tags, max_tags, k;
};

const char* kernel_name(CpuDenseKernel kernel) {
  switch (kernel) {
    case CpuDenseKernel::Avx2: return "avx2";
    case CpuDenseKernel::Avx512: return "avx512";
    case CpuDenseKernel::Blas: return "blas";
    default: return "auto";
  }
}

void run_case(const Case& c, CpuScoringPath path, uint64_t seed, int threads = 0,
              CpuDenseKernel kernel = CpuDenseKernel::Auto, CpuPrecision precision = CpuPrecision::Fp32) {
  const std::string ctx = "seed " + std::to_string(seed) + " users " + std::to_string(c.users) + " titles " +
                          std::to_string(c.titles) + " k " + std::to_string(c.k) +
                          (path == CpuScoringPath::Sparse ? " sparse" : std::string(" dense ") + kernel_name(kernel));
  std::mt19937_64 rng(seed);
  const TitleMatrix m = TitleMatrix::build(random_catalog(c.titles, c.tags, c.max_tags, rng));
  std::normal_distribution<float> gauss;
  std::vector<float> users(c.users * c.tags);
  for (auto& x : users) x = gauss(rng);
  Exclusions ex;
  std::vector<std::vector<uint32_t>> excluded(c.users);
  for (size_t u = 0; u < c.users; ++u) {
    if (u % 7 == 3) std::fill(users.begin() + u * c.tags, users.begin() + (u + 1) * c.tags, 0.0f);  // no signal
    if (u % 11 == 5) {  // everything excluded
      for (uint32_t t = 0; t < c.titles; ++t) excluded[u].push_back(t);
    } else {
      for (uint32_t t = 0; t < c.titles; ++t)
        if (rng() % 5 == 0) excluded[u].push_back(t);
    }
    ex.titles.insert(ex.titles.end(), excluded[u].begin(), excluded[u].end());
    ex.offsets.push_back(ex.titles.size());
  }
  CpuScorerOptions o;
  o.path = path;
  o.threads = threads;
  o.dense_kernel = kernel;
  o.precision = precision;
  auto scorer = make_cpu_scorer(m, o);
  TopKResult res;
  scorer->search(UserBatchView{c.users, c.tags, users.data(), &ex}, c.k, res);
  // bf16: the reference multiplies the same rounded vectors (in double), so only the fp32 sums differ.
  std::vector<float> ref_titles = m.dense(), ref_users = users;
  if (precision == CpuPrecision::Bf16)
    for (auto* v : {&ref_titles, &ref_users})
      for (float& x : *v) x = detail::from_bf16(detail::to_bf16(x));
  for (size_t u = 0; u < c.users; ++u) {
    const auto all = naive_scores(ref_titles, c.titles, c.tags, ref_users.data() + u * c.tags);
    const auto ref = naive_topk(all, excluded[u], c.k);
    expect_same_topk(ref, all, res.titles.data() + u * c.k, res.scores.data() + u * c.k, res.counts[u], 1e-5,
                     ctx + " user " + std::to_string(u));
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace

// Every way to score: the sparse path, and the dense path with each micro-kernel and the BLAS tiles.
struct Way {
  CpuScoringPath path;
  CpuDenseKernel kernel;
};

class CpuScorerVsNaive : public ::testing::TestWithParam<Way> {
 protected:
  void SetUp() override {
    if (GetParam().kernel == CpuDenseKernel::Avx512 && !detail::dense_kernel_avx512_supported())
      GTEST_SKIP() << "this CPU has no AVX-512";
  }
};

TEST_P(CpuScorerVsNaive, OddShapesAndKs) {
  // Shapes around the kernels' blocks: 6/12 users a micro-block, 16/32 titles a panel, 96/192
  // users a work item; ranks past K = 100 take the selection's buffer.
  const std::vector<Case> cases = {{1, 1, 1, 1, 1},          {33, 50, 7, 3, 1},        {70, 301, 40, 12, 10},
                                   {65, 130, 17, 17, 130},   {100, 257, 64, 8, 257},   {40, 1000, 300, 25, 50},
                                   {5, 4100, 20, 4, 4100},   {193, 33, 5, 5, 7},       {97, 500, 128, 128, 100},
                                   {13, 31, 3, 3, 31}};
  uint64_t seed = 20261129;
  for (const auto& c : cases) {
    run_case(c, GetParam().path, seed++, 0, GetParam().kernel);
    if (HasFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Ways, CpuScorerVsNaive,
                         ::testing::Values(Way{CpuScoringPath::Sparse, CpuDenseKernel::Auto},
                                           Way{CpuScoringPath::Dense, CpuDenseKernel::Avx2},
                                           Way{CpuScoringPath::Dense, CpuDenseKernel::Avx512},
                                           Way{CpuScoringPath::Dense, CpuDenseKernel::Blas}),
                         [](const auto& info) {
                           return info.param.path == CpuScoringPath::Sparse
                                      ? std::string("sparse")
                                      : std::string("dense_") + kernel_name(info.param.kernel);
                         });

// The dense path splits the titles among threads when there are fewer user blocks than threads
// (the server's small batches) and merges the partial lists: still the naive top-K, at any K.
TEST(CpuScorer, DenseFewUsersSplitTheTitlesAcrossThreadsAndMatchTheReference) {
  uint64_t seed = 20261202;
  for (CpuDenseKernel kernel : {CpuDenseKernel::Auto, CpuDenseKernel::Avx2, CpuDenseKernel::Blas})
    for (int threads : {1, 3, 8})
      for (const Case& c : {Case{1, 9000, 24, 24, 10}, Case{3, 9000, 24, 24, 300}, Case{70, 6000, 16, 16, 5}}) {
        run_case(c, CpuScoringPath::Dense, seed++, threads, kernel);
        if (::testing::Test::HasFailure()) return;
      }
}

// The micro-kernel alone: every score of a block against the naive sum, and the pass bits.
TEST(DenseKernel, BlockScoresAndPassBitsMatchTheNaiveSums) {
  std::vector<detail::DenseKernel> kernels = {detail::dense_kernel_avx2()};
  if (detail::dense_kernel_avx512_supported()) kernels.push_back(detail::dense_kernel_avx512());
  if (detail::dense_kernel_avx512_bf16_supported()) kernels.push_back(detail::dense_kernel_avx512_bf16());
  std::mt19937_64 rng(7);
  std::normal_distribution<float> gauss;
  for (const auto& kn : kernels)
    for (size_t dim : {1, 3, 64, 129}) {
      const size_t users = kn.mr - 1, titles = kn.nr - 3;  // both padded
      std::vector<float> u(users * dim), t(titles * dim);
      for (auto& x : u) x = gauss(rng);
      for (auto& x : t) x = gauss(rng);
      const size_t slots = kn.slots(dim);
      std::vector<float> pu(kn.mr * slots), pt(kn.nr * slots), scores(kn.mr * kn.nr, -1.0f), thr(kn.mr);
      detail::pack_panels(u.data(), users, dim, kn.mr, kn.bf16, pu.data());
      detail::pack_panels(t.data(), titles, dim, kn.nr, kn.bf16, pt.data());
      for (size_t i = 0; i < kn.mr; ++i) thr[i] = i % 3 == 0 ? -FLT_MAX : 0.1f * float(i);
      std::vector<uint32_t> pass(kn.mr);
      kn.block(pu.data(), pt.data(), slots, thr.data(), scores.data(), pass.data());
      auto in = [&](float x) { return kn.bf16 ? detail::from_bf16(detail::to_bf16(x)) : x; };
      for (size_t i = 0; i < kn.mr; ++i)
        for (size_t j = 0; j < kn.nr; ++j) {
          const std::string at = std::string(kn.name) + " dim " + std::to_string(dim) + " user " +
                                 std::to_string(i) + " title " + std::to_string(j);
          if (!kn.bf16) {
            // The fp32 kernels' sum: one fused multiply-add per dimension, in order — bit for bit.
            float want = 0;
            for (size_t d = 0; d < dim; ++d)
              want = std::fma(i < users ? u[i * dim + d] : 0.0f, j < titles ? t[j * dim + d] : 0.0f, want);
            const bool passes = want >= thr[i];
            ASSERT_EQ(bool(pass[i] >> j & 1), passes) << at;
            if (passes) {
              EXPECT_EQ(scores[i * kn.nr + j], want) << at;
            }
            continue;
          }
          // bf16: exact products of the rounded inputs, summed in fp32 in the instruction's own order.
          double want = 0;
          for (size_t d = 0; d < dim; ++d)
            want += double(i < users ? in(u[i * dim + d]) : 0.0f) * double(j < titles ? in(t[j * dim + d]) : 0.0f);
          if (std::fabs(want - thr[i]) > 1e-4) {
            ASSERT_EQ(bool(pass[i] >> j & 1), want >= thr[i]) << at;
          }
          if (pass[i] >> j & 1) {
            EXPECT_NEAR(scores[i * kn.nr + j], want, 1e-5 * (1 + std::fabs(want))) << at;
          }
        }
    }
}

// bf16 products with fp32 sums: the naive top-K of the rounded vectors, on the same odd shapes.
TEST(CpuScorer, Bf16PrecisionIsTheNaiveTopKOfTheRoundedVectors) {
  if (!detail::dense_kernel_avx512_bf16_supported()) GTEST_SKIP() << "this CPU has no AVX-512 BF16";
  uint64_t seed = 20261203;
  for (const Case& c : {Case{33, 50, 7, 3, 1}, Case{70, 301, 40, 12, 10}, Case{97, 500, 128, 128, 100},
                        Case{5, 4100, 20, 4, 4100}, Case{13, 31, 3, 3, 31}}) {
    run_case(c, CpuScoringPath::Auto, seed++, 0, CpuDenseKernel::Auto, CpuPrecision::Bf16);
    if (HasFailure()) return;
  }
}

TEST(CpuScorer, Bf16IsRefusedWhereItCannotRun) {
  std::mt19937_64 rng(5);
  const TitleMatrix m = TitleMatrix::build(random_catalog(50, 16, 16, rng));
  CpuScorerOptions o;
  o.precision = CpuPrecision::Bf16;
  if (!detail::dense_kernel_avx512_bf16_supported()) {
    EXPECT_THROW(make_cpu_scorer(m, o), ArgumentError);
    return;
  }
  EXPECT_NE(make_cpu_scorer(m, o)->describe().find("avx512-bf16 kernel"), std::string::npos);
  o.dense_kernel = CpuDenseKernel::Avx2;
  try {
    make_cpu_scorer(m, o);
    FAIL() << "expected ArgumentError";
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("avx512 kernel only, not avx2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_cpu_precision("fp8"), ArgumentError);
}

TEST(CpuScorer, DescribeNamesTheDenseKernelAndRejectsUnknownNames) {
  std::mt19937_64 rng(3);
  const TitleMatrix m = TitleMatrix::build(random_catalog(50, 16, 16, rng));
  CpuScorerOptions o;
  o.path = CpuScoringPath::Dense;
  o.dense_kernel = CpuDenseKernel::Avx2;
  EXPECT_NE(make_cpu_scorer(m, o)->describe().find("avx2 kernel"), std::string::npos);
  o.dense_kernel = CpuDenseKernel::Blas;
  EXPECT_NE(make_cpu_scorer(m, o)->describe().find("blas tiles"), std::string::npos);
  try {
    parse_cpu_dense_kernel("sse");
    FAIL() << "expected ArgumentError";
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("MARQUEE_DENSE_KERNEL"), std::string::npos) << e.what();
  }
}

TEST(CpuScorer, ExactTiesResolveToTheLowerTitleIndex) {
  // Titles 0, 2 and 4 are identical; 1 and 3 are identical and score lower.
  Catalog c;
  c.add_tag({"x", "g"});
  c.add_tag({"y", "g"});
  for (int t = 0; t < 5; ++t) {
    c.add_title({"t" + std::to_string(t), "", 100, 0});
    c.add_assignment({uint32_t(t), 0, 1.0f});
    if (t % 2) c.add_assignment({uint32_t(t), 1, 1.0f});
  }
  const TitleMatrix m = TitleMatrix::build(c);
  const float user[2] = {1.0f, 0.0f};
  for (auto path : {CpuScoringPath::Sparse, CpuScoringPath::Dense}) {
    CpuScorerOptions o;
    o.path = path;
    TopKResult r;
    make_cpu_scorer(m, o)->search(UserBatchView{1, 2, user, nullptr}, 4, r);
    ASSERT_EQ(r.counts[0], 4u);
    EXPECT_EQ(std::vector<uint32_t>(r.titles.begin(), r.titles.begin() + 4), (std::vector<uint32_t>{0, 2, 4, 1}));
  }
}

TEST(CpuScorer, AutoPicksTheSparsePathForSparseTitles) {
  std::mt19937_64 rng(1);
  const TitleMatrix sparse = TitleMatrix::build(random_catalog(100, 200, 10, rng));
  EXPECT_NE(make_cpu_scorer(sparse)->describe().find("sparse"), std::string::npos);
  const TitleMatrix dense = TitleMatrix::build(random_catalog(100, 4, 30, rng));
  EXPECT_NE(make_cpu_scorer(dense)->describe().find("dense"), std::string::npos);
}

TEST(CpuScorer, RejectsBadArgumentsWithTheLimitInTheMessage) {
  std::mt19937_64 rng(2);
  const TitleMatrix m = TitleMatrix::build(random_catalog(10, 5, 3, rng));
  auto s = make_cpu_scorer(m);
  std::vector<float> u(5, 0.1f);
  TopKResult r;
  auto message = [&](size_t k, size_t dim) {
    try {
      s->search(UserBatchView{1, dim, u.data(), nullptr}, k, r);
    } catch (const ArgumentError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(0, 5).find("K must be between 1 and the catalogue size (10); got 0"), std::string::npos);
  EXPECT_NE(message(11, 5).find("got 11"), std::string::npos);
  EXPECT_NE(message(3, 4).find("dimension 4 but the title matrix has 5"), std::string::npos);
  Exclusions bad;
  bad.titles.push_back(10);
  bad.offsets.push_back(1);
  EXPECT_THROW(s->search(UserBatchView{1, 5, u.data(), &bad}, 3, r), ArgumentError);
}

TEST(CpuScorer, EmptyBatchIsFine) {
  std::mt19937_64 rng(3);
  const TitleMatrix m = TitleMatrix::build(random_catalog(10, 5, 3, rng));
  TopKResult r;
  make_cpu_scorer(m)->search(UserBatchView{0, 5, nullptr, nullptr}, 3, r);
  EXPECT_TRUE(r.counts.empty());
}

TEST(BlasCores, CoreNamesHaveInstructionSetLevels) {
  EXPECT_EQ(blas_core_level("Prescott"), 1);
  EXPECT_EQ(blas_core_level("haswell"), 3);  // OpenBLAS matches names without case
  EXPECT_EQ(blas_core_level("SkylakeX"), 4);
  EXPECT_EQ(blas_core_level("Cooperlake"), 5);
  EXPECT_EQ(blas_core_level("Frobnicator"), 0);  // unknown: left alone
  EXPECT_STREQ(blas_core_for_level(4), "SkylakeX");
  EXPECT_STREQ(blas_core_for_level(3), "Haswell");
  EXPECT_GE(cpu_blas_level(), 1);
}

// What the CLI does at start (engine/blas_cores.h): never narrower kernels than before, the CPU's
// widest when it changed them, and the dense path (SGEMM tiles) still equals the naive reference.
TEST(BlasCores, TheChosenKernelsStillMatchTheNaiveReference) {
  const BlasCores b = tune_blas_cores();
  EXPECT_GE(blas_core_level(b.after), blas_core_level(b.before)) << b.reason;
  if (b.changed()) {
    EXPECT_EQ(blas_core_level(b.after), cpu_blas_level()) << b.reason;
  }
  EXPECT_EQ(tune_blas_cores().after, b.after) << "a second call returns the first answer";
  uint64_t seed = 20261203;
  for (const Case& c : {Case{70, 301, 40, 12, 10}, Case{100, 2100, 128, 128, 50}, Case{3, 5000, 64, 64, 7}}) {
    run_case(c, CpuScoringPath::Dense, seed++);
    if (HasFailure()) return;
  }
}
