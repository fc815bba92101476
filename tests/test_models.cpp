// One conformance suite run against every model family (as implicit runs one test mixin over all
// its models): arrays round trip to identical rankings, fold-in reproduces trained users, exclusions
// and ties hold; then each family against a naive reference. Engine only: no host/ code.
#include "engine/error.h"
#include "engine/explain.h"
#include "engine/model.h"
#include "engine/profiles.h"
#include "engine/scorer.h"
#include "engine/title_matrix.h"
#include "reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

using namespace marquee;
using namespace marquee::test;

namespace {

constexpr size_t kUsers = 80, kTitles = 40, kTags = 12;

// Three taste groups over a random catalogue; each user watched 6..12 titles, mostly of their group,
// with engagement weights in (-0.3, 1]; titles 38 and 39 nobody watched (cold start).
struct Data {
  Catalog catalog;
  TitleMatrix tags;
  UserProfiles profiles;
};

Data make_data(uint64_t seed) {
  std::mt19937_64 rng(seed);
  Data d;
  for (size_t j = 0; j < kTags; ++j) d.catalog.add_tag({"tag" + std::to_string(j), "genre"});
  for (size_t t = 0; t < kTitles; ++t) {
    d.catalog.add_title({"t" + std::to_string(t), "", 100, 0});
    d.catalog.add_assignment({uint32_t(t), uint32_t(t % kTags), 1.0f});
    d.catalog.add_assignment({uint32_t(t), uint32_t((t * 7 + 3) % kTags), 0.5f});
  }
  d.tags = TitleMatrix::build(d.catalog);
  UserProfiles& p = d.profiles;
  p.dim = d.tags.dim();
  p.vectors.assign(kUsers * p.dim, 0.0f);
  p.seen_offsets.push_back(0);
  p.summaries.resize(kUsers);
  std::uniform_real_distribution<float> weight(-0.3f, 1.0f);
  for (size_t u = 0; u < kUsers; ++u) {
    p.user_ids.push_back("u" + std::to_string(u));
    const size_t group = u % 3, count = 6 + rng() % 7;
    std::vector<uint32_t> titles;
    while (titles.size() < count) {
      const uint32_t t = rng() % 5 == 0 ? uint32_t(rng() % 38) : uint32_t(group * 12 + rng() % 12);
      if (std::find(titles.begin(), titles.end(), t) == titles.end()) titles.push_back(t);
    }
    std::sort(titles.begin(), titles.end());
    for (uint32_t t : titles) {
      const float w = weight(rng);
      p.seen.push_back({t, w, uint8_t(w > 0.5f)});
      for (size_t j = 0; j < p.dim; ++j) p.vectors[u * p.dim + j] += w * d.tags.row(t)[j];
    }
    l2_normalise(p.vectors.data() + u * p.dim, p.dim);
    p.summaries[u].usable = 1;
    p.seen_offsets.push_back(p.seen.size());
  }
  return d;
}

ModelParams small_params() {
  ModelParams p;
  p.als.factors = 6;
  p.als.iterations = 15;
  p.als.regularization = 0.5f;
  p.weights = {1.0f, 0.3f, 0.2f};
  p.ease_lambda = 5.0f;
  return p;
}

TopKResult rank(const Model& m, const UserProfiles& p, size_t k) {
  auto scorer = make_cpu_scorer(m.titles());
  const std::vector<float> users = m.user_vectors(p);
  const Exclusions ex = Exclusions::from_profiles(p, ExcludePolicy::Watched);
  TopKResult r;
  scorer->search(UserBatchView{p.size(), m.dim(), users.data(), &ex}, k, r);
  return r;
}

double cosine(const float* a, const float* b, size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; ++i) ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
}

class EveryModel : public ::testing::TestWithParam<ModelKind> {
 protected:
  void SetUp() override {
    data_ = make_data(11);
    model_ = make_model(GetParam(), small_params());
    model_->fit(data_.tags, data_.profiles);
  }
  Data data_;
  std::unique_ptr<Model> model_;
};

}  // namespace

TEST_P(EveryModel, ArraysRoundTripToIdenticalRankings) {
  auto loaded = make_model(GetParam(), small_params());
  loaded->restore(data_.tags, model_->arrays());
  EXPECT_EQ(loaded->kind(), model_->kind());
  EXPECT_EQ(loaded->titles().dense(), model_->titles().dense());
  EXPECT_EQ(loaded->user_vectors(data_.profiles), model_->user_vectors(data_.profiles));
  const TopKResult a = rank(*model_, data_.profiles, 10), b = rank(*loaded, data_.profiles, 10);
  EXPECT_EQ(a.titles, b.titles);
  EXPECT_EQ(a.scores, b.scores);
  EXPECT_EQ(a.counts, b.counts);
}

// `explain --model-dir`: the rank it reports is the title's position in the model's own top-K, and
// the score is the one the scorer gave it (to float tolerance).
TEST_P(EveryModel, ExplainModelRankIsThePositionInTheRanking) {
  const TopKResult r = rank(*model_, data_.profiles, 12);
  for (size_t u : {size_t(0), size_t(5), size_t(17)}) {
    const UserProfiles one = select_users(data_.profiles, {u});
    for (size_t pos : {size_t(0), size_t(4), size_t(11)}) {
      const uint32_t t = r.titles[u * 12 + pos];
      const ModelExplanation ex = explain_model(*model_, one, t, 3);
      EXPECT_EQ(ex.rank, pos + 1) << "user " << u << " title " << t;
      EXPECT_NEAR(ex.score, r.scores[u * 12 + pos], 1e-5);
      EXPECT_EQ(ex.candidates, data_.tags.num_titles() - size_t(one.seen_end(0) - one.seen_begin(0)));
      for (size_t i = 1; i < ex.because.size(); ++i) EXPECT_GE(ex.because[i - 1].similarity, ex.because[i].similarity);
    }
  }
  EXPECT_THROW(explain_model(*model_, data_.profiles, 0), ArgumentError);  // more than one user
}

TEST_P(EveryModel, ExcludesWhatEachUserWatchedAndIsDeterministic) {
  const TopKResult r = rank(*model_, data_.profiles, 15);
  const UserProfiles& p = data_.profiles;
  for (size_t u = 0; u < p.size(); ++u) {
    ASSERT_EQ(r.counts[u], 15u);
    for (size_t i = 0; i < r.counts[u]; ++i) {
      const uint32_t t = r.titles[u * 15 + i];
      for (const SeenTitle* s = p.seen_begin(u); s != p.seen_end(u); ++s) EXPECT_NE(s->title, t) << "user " << u;
      // Ties go to the lower title index.
      if (i > 0 && r.scores[u * 15 + i] == r.scores[u * 15 + i - 1]) {
        EXPECT_LT(r.titles[u * 15 + i - 1], t);
      }
      EXPECT_TRUE(std::isfinite(r.scores[u * 15 + i]));
    }
  }
  auto again = make_model(GetParam(), small_params());
  again->fit(data_.tags, data_.profiles);
  EXPECT_EQ(rank(*again, data_.profiles, 15).titles, r.titles);
}

TEST_P(EveryModel, FoldInOfAnUnseenUserEqualsFoldInOfTheSameUserAfterTraining) {
  // A user absent from training is scored from their own events: the same vector as the same
  // events folded in from the training batch (a model keeps no per-user state).
  UserProfiles one;
  one.dim = data_.profiles.dim;
  one.user_ids = {"new"};
  one.vectors.assign(data_.profiles.vector(5), data_.profiles.vector(5) + one.dim);
  one.seen.assign(data_.profiles.seen_begin(5), data_.profiles.seen_end(5));
  one.seen_offsets = {0, one.seen.size()};
  one.summaries = {data_.profiles.summaries[5]};
  const std::vector<float> all = model_->user_vectors(data_.profiles), alone = model_->user_vectors(one);
  ASSERT_EQ(alone.size(), model_->dim());
  for (size_t j = 0; j < alone.size(); ++j) EXPECT_EQ(alone[j], all[5 * model_->dim() + j]) << j;
}

TEST_P(EveryModel, SimilarityTitlesAreUnitOrZeroRows) {
  const TitleMatrix& s = model_->similarity_titles();
  ASSERT_EQ(s.num_titles(), kTitles);
  for (size_t t = 0; t < kTitles; ++t) {
    double n = 0;
    for (size_t j = 0; j < s.dim(); ++j) n += double(s.row(t)[j]) * s.row(t)[j];
    EXPECT_TRUE(std::fabs(n - 1) < 1e-4 || n == 0) << t << ": " << n;
  }
}

TEST_P(EveryModel, MissingOrMisshapenArraysAreInputErrors) {
  auto loaded = make_model(GetParam(), small_params());
  std::vector<ModelArray> arrays = model_->arrays();
  if (arrays.empty()) GTEST_SKIP() << "the tags model saves no arrays";
  arrays.front().shape.front() += 1;
  EXPECT_THROW(loaded->restore(data_.tags, arrays), InputError);
  arrays.erase(arrays.begin());
  EXPECT_THROW(loaded->restore(data_.tags, arrays), InputError);
}

INSTANTIATE_TEST_SUITE_P(Families, EveryModel,
                         ::testing::Values(ModelKind::Tags, ModelKind::Behaviour, ModelKind::Hybrid, ModelKind::Ease),
                         [](const auto& info) { return std::string(model_kind_name(info.param)); });

TEST(BehaviourModel, FoldInReproducesTheTrainedUserVectors) {
  const Data d = make_data(3);
  ModelParams p = small_params();
  p.als.iterations = 40;
  auto m = make_model(ModelKind::Behaviour, p);
  m->fit(d.tags, d.profiles);
  const AlsModel trained = train_als(kUsers, kTitles, interactions_of(d.profiles), p.als);
  const std::vector<float> folded = m->user_vectors(d.profiles);
  for (size_t u = 0; u < kUsers; ++u)
    EXPECT_GT(cosine(folded.data() + u * p.als.factors, trained.user(u), p.als.factors), 0.99) << "user " << u;
}

// A batch of users goes to the fold-in solver the backend chose (the GPU twin in a CUDA run); the
// CPU's batch solver gives exactly the per-user fold-in; small batches stay on the caller's thread.
TEST(BehaviourModel, BatchesAreFoldedInWhereTheSolverSays) {
  const Data d = make_data(5);
  for (const ModelKind kind : {ModelKind::Behaviour, ModelKind::Hybrid}) {
    auto m = make_model(kind, small_params());
    m->fit(d.tags, d.profiles);
    const std::vector<float> per_user = m->user_vectors(d.profiles);
    std::vector<size_t> calls;
    m->set_fold_in_solver([&calls](const AlsHalfStep& step, const AlsCsr& rows, float* x) {
      calls.push_back(rows.ptr.size() - 1);
      EXPECT_EQ(als_solve_rows(step, rows, x), 0u);
    });
    EXPECT_EQ(m->user_vectors(d.profiles), per_user) << model_kind_name(kind);
    EXPECT_EQ(calls, std::vector<size_t>{kUsers});
    std::vector<size_t> few(10);
    std::iota(few.begin(), few.end(), size_t(0));
    m->user_vectors(select_users(d.profiles, few));
    EXPECT_EQ(calls.size(), 1u) << "10 users: folded in on the caller's thread";
    m->set_fold_in_solver([](const AlsHalfStep& step, const AlsCsr& rows, float* x) {
      std::fill(x, x + (rows.ptr.size() - 1) * step.factors, 0.5f);  // a wrong solver shows in the vectors
    });
    EXPECT_NE(m->user_vectors(d.profiles), per_user);
  }
}

TEST(Als, RowSolveMatchesTheNormalEquationsWithUnobservedWeightAndFrequencyScaling) {
  // (w0 Y^T Y + sum (c - w0) y y^T + lambda (n + w0 rows)^nu I) x = sum c p y, solved naively in double.
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  const size_t rows = 9, k = 4;
  std::vector<float> y(rows * k);
  for (float& v : y) v = u(rng);
  AlsOptions o;
  o.factors = k;
  o.regularization = 0.3f;
  o.unobserved_weight = 0.25f;
  o.reg_exponent = 0.5f;
  o.alpha = 2.0f;
  const AlsHalfStep step(y.data(), rows, k, o);
  const std::vector<std::pair<uint32_t, float>> seen = {{1, 0.8f}, {4, -0.5f}, {7, 0.2f}};
  const std::vector<float> x = als_fold_in(step, seen, o.alpha);
  std::vector<double> a(k * k, 0.0), b(k, 0.0);
  for (size_t r = 0; r < rows; ++r)
    for (size_t i = 0; i < k; ++i)
      for (size_t j = 0; j < k; ++j) a[i * k + j] += o.unobserved_weight * double(y[r * k + i]) * y[r * k + j];
  const double reg = o.regularization * std::pow(double(seen.size()) + o.unobserved_weight * rows, o.reg_exponent);
  for (size_t i = 0; i < k; ++i) a[i * k + i] += reg;
  for (const auto& [t, w] : seen) {
    const double c = 1 + o.alpha * std::fabs(w), pref = w > 0 ? 1 : 0;
    for (size_t i = 0; i < k; ++i) {
      for (size_t j = 0; j < k; ++j) a[i * k + j] += (c - o.unobserved_weight) * y[t * k + i] * y[t * k + j];
      b[i] += c * pref * y[t * k + i];
    }
  }
  // Gaussian elimination (the system is symmetric positive definite).
  for (size_t i = 0; i < k; ++i)
    for (size_t r = i + 1; r < k; ++r) {
      const double f = a[r * k + i] / a[i * k + i];
      for (size_t j = i; j < k; ++j) a[r * k + j] -= f * a[i * k + j];
      b[r] -= f * b[i];
    }
  std::vector<double> want(k);
  for (size_t i = k; i-- > 0;) {
    double s = b[i];
    for (size_t j = i + 1; j < k; ++j) s -= a[i * k + j] * want[j];
    want[i] = s / a[i * k + i];
  }
  for (size_t i = 0; i < k; ++i) EXPECT_NEAR(x[i], want[i], 1e-4 * (1 + std::fabs(want[i]))) << i;
  AlsOptions bad = o;
  bad.unobserved_weight = 0;
  EXPECT_THROW(check_als_arguments(1, 1, {}, bad), ArgumentError);
  bad = o;
  bad.reg_exponent = -1;
  EXPECT_THROW(check_als_arguments(1, 1, {}, bad), ArgumentError);
}

TEST(EaseModel, ScoresMatchANaiveClosedFormInDoublePrecision) {
  const Data d = make_data(7);
  ModelParams p = small_params();
  auto m = make_model(ModelKind::Ease, p);
  m->fit(d.tags, d.profiles);
  // G = X^T X + lambda I (X binary: positive engagement), P = G^-1 by Gauss-Jordan, B_jt = -P_jt / P_tt.
  const size_t n = kTitles;
  std::vector<double> g(n * n, 0.0), inv(n * n, 0.0);
  for (size_t u = 0; u < kUsers; ++u)
    for (const SeenTitle* a = d.profiles.seen_begin(u); a != d.profiles.seen_end(u); ++a)
      for (const SeenTitle* b = d.profiles.seen_begin(u); b != d.profiles.seen_end(u); ++b)
        if (a->weight > 0 && b->weight > 0) g[a->title * n + b->title] += 1;
  for (size_t t = 0; t < n; ++t) g[t * n + t] += p.ease_lambda, inv[t * n + t] = 1;
  for (size_t i = 0; i < n; ++i) {
    const double piv = g[i * n + i];
    for (size_t j = 0; j < n; ++j) g[i * n + j] /= piv, inv[i * n + j] /= piv;
    for (size_t r = 0; r < n; ++r) {
      if (r == i) continue;
      const double f = g[r * n + i];
      for (size_t j = 0; j < n; ++j) g[r * n + j] -= f * g[i * n + j], inv[r * n + j] -= f * inv[i * n + j];
    }
  }
  const std::vector<float> users = m->user_vectors(d.profiles);
  for (size_t u : {0u, 17u, 42u})
    for (size_t t = 0; t < n; ++t) {
      double want = 0;
      for (size_t j = 0; j < n; ++j)
        if (j != t) want += users[u * n + j] * (-inv[j * n + t] / inv[t * n + t]);
      double got = 0;
      for (size_t j = 0; j < n; ++j) got += double(users[u * n + j]) * m->titles().row(t)[j];
      EXPECT_NEAR(got, want, 1e-4) << "user " << u << " title " << t;
    }
  // Titles nobody watched score 0 for everyone.
  for (size_t j = 0; j < n; ++j) EXPECT_EQ(m->titles().row(39)[j], 0.0f);
}

// EASE's n^3 step goes through the fit backend (the GPU twin plugs in there): a spy that runs the
// CPU inverse gives the default fit's weights exactly, and is called once with the catalogue size;
// an inverse that answers wrongly changes the weights, so the default path is not taken behind it.
TEST(EaseModel, TheInverseRunsWhereTheFitBackendSays) {
  const Data d = make_data(7);
  auto plain = make_model(ModelKind::Ease, small_params());
  plain->fit(d.tags, d.profiles);
  std::vector<size_t> calls;
  FitBackend spy;
  spy.spd_inverse = [&calls](size_t n, float* a) {
    calls.push_back(n);
    cpu_spd_inverse(n, a);
  };
  auto spied = make_model(ModelKind::Ease, small_params());
  spied->fit(d.tags, d.profiles, spy);
  EXPECT_EQ(calls, std::vector<size_t>{kTitles});
  EXPECT_EQ(spied->titles().dense(), plain->titles().dense());
  FitBackend wrong;
  wrong.spd_inverse = [](size_t n, float* a) {
    cpu_spd_inverse(n, a);
    a[1] += 1.0f;  // P_01 off by one: B_01 and B_10 change
  };
  auto off = make_model(ModelKind::Ease, small_params());
  off->fit(d.tags, d.profiles, wrong);
  EXPECT_NE(off->titles().dense(), plain->titles().dense());
  std::vector<float> indefinite{1.0f, 2.0f, 2.0f, 1.0f};
  EXPECT_THROW(cpu_spd_inverse(2, indefinite.data()), InputError);
}

TEST(ModelParams, BadValuesAreArgumentErrors) {
  ModelParams p;
  p.ease_lambda = 0;
  EXPECT_THROW(make_model(ModelKind::Ease, p), ArgumentError);
  p = ModelParams{};
  p.weights.tags = std::nanf("");
  EXPECT_THROW(make_model(ModelKind::Hybrid, p), ArgumentError);
  p = ModelParams{};
  p.als.factors = 0;
  EXPECT_THROW(make_model(ModelKind::Behaviour, p), ArgumentError);
  EXPECT_EQ(parse_model_kind("ease"), ModelKind::Ease);
}
