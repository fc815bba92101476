// Behaviour embeddings (ALS), hybrid vectors, cold start, and the held-out evaluation.
#include "engine/als.h"
#include "engine/error.h"
#include "engine/evaluation.h"
#include "engine/recommender.h"
#include "host/io/events_io.h"
#include "generated_data.h"
#include "host/jobs/spilled_profiles.h"
#include "host/jobs/user_sample.h"
#include "host/jobs/workspace.h"
#include "test_util.h"

#include <cmath>
#include <cstring>
#include <algorithm>
#include <map>
#include <numeric>
#include <random>

using namespace marquee;
using namespace marquee::test;

namespace {

// Two taste groups: users 0..9 like titles 0..4, users 10..19 like titles 5..9.
std::vector<Interaction> two_groups() {
  std::vector<Interaction> in;
  for (uint32_t u = 0; u < 20; ++u)
    for (uint32_t t = 0; t < 5; ++t)
      if ((u + t) % 5 != 0) in.push_back({u, u < 10 ? t : t + 5, 0.8f});
  return in;
}

double dot(const float* a, const float* b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += double(a[i]) * b[i];
  return s;
}

}  // namespace

TEST(Als, LearnsTasteGroupsAndIsDeterministic) {
  AlsOptions o;
  o.factors = 4;
  o.regularization = 0.1f;
  const AlsModel m = train_als(20, 12, two_groups(), o);
  // User 0 never saw title 0 ((0 + 0) % 5 == 0): it must rank above every title of the other group.
  for (uint32_t other = 5; other < 10; ++other)
    EXPECT_GT(dot(m.user(0), m.title(0), 4), dot(m.user(0), m.title(other), 4)) << other;
  EXPECT_EQ(m.title_seen[10], 0);
  for (size_t j = 0; j < 4; ++j) EXPECT_EQ(m.title(10)[j], 0.0f);  // nobody watched it
  const AlsModel again = train_als(20, 12, two_groups(), o);
  EXPECT_EQ(m.user_factors, again.user_factors);
  EXPECT_EQ(m.title_factors, again.title_factors);
}

TEST(Als, MoreFactorsThanDataAndEmptyRowsGiveNoNaN) {
  AlsOptions o;
  o.factors = 64;
  const std::vector<Interaction> in = {{0, 0, 1.0f}, {1, 1, -0.5f}};  // user 2 and title 2 have nothing
  const AlsModel m = train_als(3, 3, in, o);
  for (float v : m.user_factors) EXPECT_TRUE(std::isfinite(v));
  for (float v : m.title_factors) EXPECT_TRUE(std::isfinite(v));
  const AlsModel none = train_als(2, 2, {}, o);  // nobody watched anything
  for (float v : none.user_factors) EXPECT_EQ(v, 0.0f);
}

TEST(Als, BadOptionsAreArgumentErrors) {
  AlsOptions o;
  o.factors = 0;
  EXPECT_THROW(train_als(2, 2, {}, o), ArgumentError);
  o = AlsOptions{};
  o.regularization = 0;
  EXPECT_THROW(train_als(2, 2, {}, o), ArgumentError);
  EXPECT_THROW(train_als(2, 2, {{5, 0, 1.0f}}, AlsOptions{}), ArgumentError);
}

TEST(Recommender, HybridIsTheWeightedSumOfItsParts) {
  Catalog c;
  for (int j = 0; j < 6; ++j) c.add_tag({"g" + std::to_string(j), "genre"});
  for (int t = 0; t < 12; ++t) {
    c.add_title({"t" + std::to_string(t), "", 100, 0});
    c.add_assignment({uint32_t(t), uint32_t(t % 6), 1.0f});
    c.add_assignment({uint32_t(t), uint32_t((t + 1) % 6), 0.5f});
  }
  const TitleMatrix tags = TitleMatrix::build(c);
  // Profiles with the two_groups interactions (titles 10, 11 unwatched: cold start).
  UserProfiles p;
  p.dim = tags.dim();
  p.user_ids.resize(20);
  p.vectors.assign(20 * tags.dim(), 0.0f);
  p.seen_offsets.push_back(0);
  p.summaries.resize(20);
  std::vector<Interaction> in = two_groups();
  for (uint32_t u = 0; u < 20; ++u) {
    for (const auto& i : in)
      if (i.user == u) {
        p.seen.push_back({i.title, i.weight, 1});
        for (size_t d = 0; d < tags.dim(); ++d) p.vectors[u * tags.dim() + d] += i.weight * tags.row(i.title)[d];
      }
    l2_normalise(p.vectors.data() + u * tags.dim(), tags.dim());
    p.summaries[u].usable = 1;
    p.seen_offsets.push_back(p.seen.size());
  }
  AlsOptions o;
  o.factors = 4;
  o.regularization = 0.5f;
  const HybridWeights w{1.0f, 0.3f, 0.2f};
  const RecommenderModel m = fit_recommender(tags, p, o, w);
  // Cold-start titles get factors from their tags, not zeros.
  double norm = 0;
  for (size_t j = 0; j < 4; ++j) norm += std::fabs(m.als.title(10)[j]);
  EXPECT_GT(norm, 0);
  EXPECT_EQ(m.popularity[10], 0.0f);
  const TitleMatrix h = model_titles(ModelKind::Hybrid, tags, m);
  const std::vector<float> users = model_users(ModelKind::Hybrid, p, 0, m);
  for (uint32_t u : {0u, 13u})
    for (uint32_t t : {0u, 7u, 11u}) {
      const double want = w.behaviour * dot(m.als.user(u), m.als.title(t), 4) +
                          w.tags * dot(p.vector(u), tags.row(t), tags.dim()) + w.popularity * m.popularity[t];
      EXPECT_NEAR(dot(users.data() + u * h.dim(), h.row(t), h.dim()), want, 1e-5) << u << "," << t;
    }
  EXPECT_THROW(parse_model_kind("magic"), ArgumentError);
}

TEST(Evaluation, SplitHoldsOutTheLastStartedTitles) {
  auto ev = [](uint32_t user, uint32_t title, int64_t ts) {
    Event e;
    e.user = user;
    e.title = title;
    e.ts = ts;
    return e;
  };
  // User 0: titles 5 (t=1), 3 (t=2, and again at 9), 8 (t=3), 1 (t=4). User 1: only two titles.
  const std::vector<Event> events = {ev(0, 5, 1), ev(0, 3, 2), ev(0, 8, 3), ev(0, 1, 4), ev(0, 3, 9),
                                     ev(1, 2, 1), ev(1, 4, 2)};
  const HoldoutSplit s = split_last_titles(events, 2, 2);
  EXPECT_EQ(s.heldout[0], (std::vector<uint32_t>{1, 8}));
  EXPECT_TRUE(s.heldout[1].empty());  // too few titles: kept whole for training
  EXPECT_EQ(s.evaluated_users, 1u);
  EXPECT_EQ(s.train.size(), 5u);  // 5, 3, 3 of user 0 and both of user 1
  EXPECT_THROW(split_last_titles(events, 2, 0), ArgumentError);
}

TEST(Evaluation, SplitEqualsAMapOfFirstTimesOnRandomEvents) {
  // The reference: each user's first time per title from a map, as the split was first written.
  const uint64_t seed = 20261202;
  std::mt19937_64 rng(seed);
  const size_t users = 300;
  std::vector<Event> events;
  for (size_t i = 0; i < 20000; ++i) {
    Event e;
    e.user = uint32_t(rng() % users);
    e.title = uint32_t(rng() % 40);
    e.ts = int64_t(rng() % 50);  // many ties of time
    e.line = uint32_t(i + 2);
    events.push_back(e);
  }
  for (size_t holdout : {1, 3}) {
    const HoldoutSplit s = split_last_titles(events, users, holdout);
    std::vector<std::map<uint32_t, int64_t>> first(users);
    for (const Event& e : events) {
      auto [it, inserted] = first[e.user].emplace(e.title, e.ts);
      if (!inserted) it->second = std::min(it->second, e.ts);
    }
    size_t evaluated = 0;
    for (size_t u = 0; u < users; ++u) {
      std::vector<uint32_t> want;
      if (first[u].size() >= holdout + 2) {
        std::vector<std::pair<int64_t, uint32_t>> order;
        for (const auto& [title, ts] : first[u]) order.emplace_back(ts, title);
        std::sort(order.begin(), order.end());
        for (size_t i = order.size() - holdout; i < order.size(); ++i) want.push_back(order[i].second);
        std::sort(want.begin(), want.end());
        ++evaluated;
      }
      ASSERT_EQ(s.heldout[u], want) << "seed " << seed << " user " << u;
    }
    EXPECT_EQ(s.evaluated_users, evaluated);
    std::vector<uint32_t> lines, want_lines;
    for (const Event& e : s.train) lines.push_back(e.line);
    for (const Event& e : events)
      if (!std::binary_search(s.heldout[e.user].begin(), s.heldout[e.user].end(), e.title)) want_lines.push_back(e.line);
    EXPECT_EQ(lines, want_lines);  // the same events, in the same order
  }
}

TEST(Profiles, WithoutVectorsEverythingElseIsTheSame) {
  TempDir dir;
  const GeneratedSet data = make_generated(dir, gen_options(400, 120, 40, 3));
  RejectLog rejects("", true);
  const Workspace ws = open_catalog(data.catalog(), rejects);
  const LoadedEvents ev = load_events(data.events(), ws.catalog, rejects);
  const UserProfiles full = build_profiles(ws.catalog, ws.titles, ev.events, ev.user_ids, {});
  const UserProfiles sparse = build_profiles(ws.catalog, ws.titles, ev.events, ev.user_ids, {}, nullptr,
                                             ProfileVectors::None);
  EXPECT_EQ(sparse.dim, 0u);
  EXPECT_TRUE(sparse.vectors.empty());
  EXPECT_EQ(sparse.user_ids, full.user_ids);
  EXPECT_EQ(sparse.seen_offsets, full.seen_offsets);
  ASSERT_EQ(sparse.seen.size(), full.seen.size());
  EXPECT_EQ(std::memcmp(sparse.seen.data(), full.seen.data(), full.seen.size() * sizeof(SeenTitle)), 0);
  ASSERT_EQ(sparse.summaries.size(), full.summaries.size());
  EXPECT_EQ(std::memcmp(sparse.summaries.data(), full.summaries.data(), full.summaries.size() * sizeof(UserSummary)),
            0);
}

TEST(UserSampleTest, AHashSampleIsTheFileOfThoseUsersRows) {
  TempDir dir;
  const GeneratedSet data = make_generated(dir, gen_options(3000, 150, 30, 5));
  RejectLog rejects("", true);
  const Workspace ws = open_catalog(data.catalog(), rejects);
  const LoadedEvents all = load_events(data.events(), ws.catalog, rejects);
  EXPECT_EQ(UserSample::of_fraction(0.25).limit, uint64_t(1) << 62);
  EXPECT_EQ(UserSample::of_fraction(0.5).halved().limit, uint64_t(1) << 62);
  EXPECT_TRUE(UserSample::of_fraction(1).all);
  EXPECT_THROW(UserSample::of_fraction(0), ArgumentError);
  EXPECT_THROW(UserSample::of_fraction(1.5), ArgumentError);
  for (double fraction : {1.0, 0.25}) {
    SamplePlan plan;
    plan.sample_users = fraction;
    const SampledEvents s = load_sampled_events(data.events(), ws.catalog, rejects, 0, {}, plan);
    // The reference: load_events' users and events, filtered by the hash, users renumbered in order.
    std::vector<std::string> ids;
    std::vector<uint32_t> index(all.user_ids.size(), UINT32_MAX);
    for (size_t u = 0; u < all.user_ids.size(); ++u)
      if (fraction == 1 || user_hash(all.user_ids[u]) < (uint64_t(1) << 62)) index[u] = uint32_t(ids.size()), ids.push_back(all.user_ids[u]);
    ASSERT_EQ(s.loaded.user_ids, ids) << fraction;
    std::vector<Event> want;
    for (Event e : all.events)
      if (index[e.user] != UINT32_MAX) e.user = index[e.user], want.push_back(e);
    ASSERT_EQ(s.loaded.events.size(), want.size());
    EXPECT_EQ(std::memcmp(s.loaded.events.data(), want.data(), want.size() * sizeof(Event)), 0);
    EXPECT_EQ(s.loaded.rows, all.rows);
    EXPECT_EQ(s.report.sampled, fraction < 1);
    EXPECT_EQ(s.report.users, ids.size());
    // Every user counted without holding them: HyperLogLog, within 3% at this size.
    EXPECT_NEAR(double(s.report.users_total), double(all.user_ids.size()), 0.03 * double(all.user_ids.size()));
  }
  // A budget halves the sample while reading until the costs of what is held fit.
  SamplePlan plan;
  plan.memory_budget = 100'000'000;
  plan.costs.per_event = 1000;
  plan.costs.per_user = 0;
  const SampledEvents s = load_sampled_events(data.events(), ws.catalog, rejects, 0, {}, plan);
  EXPECT_TRUE(s.report.sampled);
  EXPECT_LE(double(s.loaded.events.size()) * 1000, 1e8);
  EXPECT_GT(double(s.loaded.events.size()) * 4000, 1e8);  // not halved far past what was needed
  EXPECT_EQ(s.report.why, "--memory-budget");
}

TEST(Evaluation, MetricsOnAHandCheckedRanking) {
  // One feature: titles score 3, 2, 1, 0 -> the ranking is 0, 1, 2, 3 for a positive user.
  const TitleMatrix m = TitleMatrix::from_rows(4, 1, {3, 2, 1, 0.5f});
  auto scorer = make_cpu_scorer(m);
  const std::vector<float> users = {1.0f, 1.0f, 1.0f};
  Exclusions seen;
  seen.titles = {0};  // user 0 saw title 0
  seen.offsets = {0, 1, 1, 1};
  const std::vector<std::vector<uint32_t>> heldout = {{2}, {3}, {}};
  const RankingMetrics r = evaluate_ranking("x", *scorer, users, seen, heldout);
  EXPECT_EQ(r.users, 2u);
  EXPECT_DOUBLE_EQ(r.hr10, 1.0);  // both held-out titles are in the (4-title) top 10
  // User 0 ranks 1, 2, 3: hit at rank 2 -> 1/log2(3); user 1 ranks 0, 1, 2, 3: hit at rank 4 -> 1/log2(5).
  EXPECT_NEAR(r.ndcg10, (1 / std::log2(3.0) + 1 / std::log2(5.0)) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(r.recall50, 1.0);
  EXPECT_DOUBLE_EQ(r.coverage10, 1.0);
  // The curves, K = 1..4 (the catalogue): user 0's hit enters at K = 2, user 1's at K = 4.
  ASSERT_EQ(r.hr_at.size(), 4u);
  const std::vector<double> hr = {0, 0.5, 0.5, 1};
  const double u0 = 1 / std::log2(3.0), u1 = 1 / std::log2(5.0);
  const std::vector<double> ndcg = {0, u0 / 2, u0 / 2, (u0 + u1) / 2};
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_DOUBLE_EQ(r.hr_at[k], hr[k]) << "HR@" << k + 1;
    EXPECT_NEAR(r.ndcg_at[k], ndcg[k], 1e-12) << "NDCG@" << k + 1;
  }
  // Popularity (share of the 3 users who saw a title): title 0 1/3, the rest 0. User 0's top 10 (titles
  // 1, 2, 3) has mean 0, user 1's (0..3) 1/12; only user 0 has a history (title 0: 1/3).
  EXPECT_NEAR(r.popularity10, (0 + 1.0 / 12) / 2, 1e-12);
  EXPECT_NEAR(r.history_popularity, 1.0 / 3, 1e-12);
  EXPECT_NEAR(r.popularity_lift10(), (1.0 / 24) / (1.0 / 3), 1e-12);
  // A popularity given by the caller is the one used.
  const std::vector<double> pop = {0.1, 0.2, 0.3, 0.4};
  const RankingMetrics g = evaluate_ranking("x", *scorer, users, seen, heldout, &pop);
  EXPECT_NEAR(g.popularity10, ((0.2 + 0.3 + 0.4) / 3 + 1.0 / 4) / 2, 1e-12);
  EXPECT_NEAR(g.history_popularity, 0.1, 1e-12);
  const std::vector<double> short_pop = {0.1};
  EXPECT_THROW(evaluate_ranking("x", *scorer, users, seen, heldout, &short_pop), ArgumentError);
}

// The eval-recs report's curves and popularity against the obvious computation: every title scored,
// seen ones dropped, sorted, cut at 50. Scores are exact and distinct (each user takes one of
// several columns, each column a random permutation of 0..titles-1), histories and held-out sets
// random, catalogues smaller and larger than the ranking depth.
TEST(Evaluation, CurvesAndPopularityMatchANaiveReference) {
  const unsigned seed = 20261202;
  std::mt19937 rng(seed);
  for (size_t titles : {7u, 37u, 120u}) {
    const size_t dim = 3, n_users = 60;
    std::vector<float> rows(titles * dim), users(n_users * dim, 0.0f);
    for (size_t d = 0; d < dim; ++d) {
      std::vector<uint32_t> perm(titles);
      std::iota(perm.begin(), perm.end(), 0u);
      std::shuffle(perm.begin(), perm.end(), rng);
      for (size_t t = 0; t < titles; ++t) rows[t * dim + d] = float(perm[t]);
    }
    for (size_t u = 0; u < n_users; ++u) users[u * dim + rng() % dim] = 1.0f;
    const TitleMatrix m = TitleMatrix::from_rows(titles, dim, rows);
    auto scorer = make_cpu_scorer(m);
    Exclusions seen;
    std::vector<std::vector<uint32_t>> heldout(n_users);
    for (size_t u = 0; u < n_users; ++u) {
      std::vector<uint32_t> order(titles);
      std::iota(order.begin(), order.end(), 0u);
      std::shuffle(order.begin(), order.end(), rng);
      const size_t n_seen = rng() % 4, n_held = u % 7 == 0 ? 0 : 1 + rng() % 3;
      std::vector<uint32_t> s(order.begin(), order.begin() + n_seen);
      std::sort(s.begin(), s.end());
      seen.titles.insert(seen.titles.end(), s.begin(), s.end());
      seen.offsets.push_back(seen.titles.size());
      heldout[u].assign(order.begin() + n_seen, order.begin() + std::min(titles, n_seen + n_held));
      std::sort(heldout[u].begin(), heldout[u].end());
    }
    const RankingMetrics r = evaluate_ranking("x", *scorer, users, seen, heldout);

    const size_t depth = std::min<size_t>(50, titles);
    std::vector<double> pop(titles, 0.0), hr(depth, 0.0), ndcg(depth, 0.0);
    for (uint32_t t : seen.titles) pop[t] += 1.0 / double(n_users);
    double pop10 = 0, history = 0;
    size_t evaluated = 0, with_history = 0;
    for (size_t u = 0; u < n_users; ++u) {
      if (heldout[u].empty()) continue;
      ++evaluated;
      std::vector<std::pair<double, uint32_t>> scored;
      for (uint32_t t = 0; t < titles; ++t) {
        if (std::find(seen.titles.begin() + seen.offsets[u], seen.titles.begin() + seen.offsets[u + 1], t) !=
            seen.titles.begin() + seen.offsets[u + 1])
          continue;
        double sc = 0;
        for (size_t d = 0; d < dim; ++d) sc += double(users[u * dim + d]) * rows[t * dim + d];
        scored.push_back({-sc, t});
      }
      std::sort(scored.begin(), scored.end());
      const size_t top10 = std::min<size_t>(10, scored.size());
      for (size_t i = 0; i < top10; ++i) pop10 += pop[scored[i].second] / double(top10);
      if (seen.offsets[u + 1] > seen.offsets[u]) {
        double h = 0;
        for (uint64_t p = seen.offsets[u]; p < seen.offsets[u + 1]; ++p) h += pop[seen.titles[p]];
        history += h / double(seen.offsets[u + 1] - seen.offsets[u]);
        ++with_history;
      }
      for (size_t k = 1; k <= depth; ++k) {
        double dcg = 0, idcg = 0;
        bool hit = false;
        for (size_t i = 0; i < std::min(k, scored.size()); ++i)
          if (std::binary_search(heldout[u].begin(), heldout[u].end(), scored[i].second)) {
            hit = true;
            dcg += 1 / std::log2(double(i) + 2);
          }
        for (size_t i = 0; i < std::min(k, heldout[u].size()); ++i) idcg += 1 / std::log2(double(i) + 2);
        hr[k - 1] += hit;
        ndcg[k - 1] += dcg / idcg;
      }
    }
    ASSERT_EQ(r.users, evaluated);
    ASSERT_EQ(r.hr_at.size(), depth) << "titles " << titles;
    ASSERT_EQ(r.ndcg_at.size(), depth);
    for (size_t k = 0; k < depth; ++k) {
      EXPECT_NEAR(r.hr_at[k], hr[k] / double(evaluated), 1e-12) << "seed " << seed << " titles " << titles << " HR@" << k + 1;
      EXPECT_NEAR(r.ndcg_at[k], ndcg[k] / double(evaluated), 1e-9) << "seed " << seed << " titles " << titles << " NDCG@" << k + 1;
    }
    if (depth >= 10) {
      EXPECT_DOUBLE_EQ(r.hr_at[9], r.hr10);
      EXPECT_NEAR(r.ndcg_at[9], r.ndcg10, 1e-12);
    }
    EXPECT_NEAR(r.popularity10, pop10 / double(evaluated), 1e-12) << "titles " << titles;
    EXPECT_NEAR(r.history_popularity, history / double(with_history), 1e-12) << "titles " << titles;
  }
}

TEST(Evaluation, HybridBeatsPopularityAndTagsOnGeneratedData) {
  TempDir dir;
  GenOptions g = gen_options(8000, 400, 120, 9);
  g.mean_titles_per_user = 20;
  const GeneratedSet data = make_generated(dir, g);
  RejectLog rejects("", true);
  const Workspace ws = open_catalog(data.catalog(), rejects);
  const LoadedEvents ev = load_events(data.events(), ws.catalog, rejects);
  const EvalReport r = evaluate_recommenders(ws.catalog, ws.titles, ev.events, ev.user_ids.size(), EvalOptions{});
  std::map<std::string, RankingMetrics> by;
  for (const auto& m : r.models) by[m.model] = m;
  ASSERT_EQ(by.size(), 5u);
  const RankingMetrics& h = by["hybrid"];
  for (const auto& [name, m] : by) {
    RecordProperty(name + "_hr10", std::to_string(m.hr10));
    if (name == "hybrid") continue;
    EXPECT_GT(h.hr10, m.hr10) << name;
    EXPECT_GT(h.ndcg10, m.ndcg10) << name;
  }
  EXPECT_GE(h.hr10, 1.05 * by["popularity"].hr10);
  EXPECT_GE(h.ndcg10, 1.05 * by["popularity"].ndcg10);
  EXPECT_GE(h.hr10, 2.0 * by["tags"].hr10);
  for (const auto& [name, m] : by) EXPECT_TRUE(std::isfinite(m.hr10) && std::isfinite(m.ndcg10)) << name;
}
