#include "engine/evaluation.h"

#include "engine/error.h"
#include "engine/profiles.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

namespace marquee {

HoldoutSplit split_last_titles(const std::vector<Event>& events, size_t users, size_t holdout, size_t min_train) {
  MARQUEE_CHECK_ARG(holdout >= 1, "holdout must be at least 1; got {}", holdout);
  MARQUEE_CHECK_ARG(events.size() < (uint64_t(1) << 32), "{} events: split them by user into files of fewer than 2^32",
                    events.size());
  // Events grouped by user with a counting sort of their indices (4 bytes an event; a map of first
  // times per user cost ~64 bytes a (user, title) and was the peak of train's memory).
  std::vector<uint64_t> start(users + 1, 0);
  for (const Event& e : events) {
    MARQUEE_CHECK_ARG(e.user < users, "event for user {} of {}", e.user, users);
    ++start[e.user + 1];
  }
  for (size_t u = 0; u < users; ++u) start[u + 1] += start[u];
  std::vector<uint32_t> by_user(events.size());
  {
    std::vector<uint64_t> next(start.begin(), start.end() - 1);
    for (size_t i = 0; i < events.size(); ++i) by_user[next[events[i].user]++] = uint32_t(i);
  }
  HoldoutSplit split;
  split.heldout.resize(users);
  std::vector<std::pair<uint32_t, int64_t>> first;  // (title, first time) of one user
  std::vector<std::pair<int64_t, uint32_t>> order;
  for (size_t u = 0; u < users; ++u) {
    first.clear();
    for (uint64_t k = start[u]; k < start[u + 1]; ++k) first.emplace_back(events[by_user[k]].title, events[by_user[k]].ts);
    std::sort(first.begin(), first.end());  // by title, then time: the first of each title is its first time
    order.clear();
    for (size_t i = 0; i < first.size(); ++i)
      if (i == 0 || first[i].first != first[i - 1].first) order.emplace_back(first[i].second, first[i].first);
    if (order.size() < holdout + min_train) continue;
    std::sort(order.begin(), order.end());
    for (size_t i = order.size() - holdout; i < order.size(); ++i) split.heldout[u].push_back(order[i].second);
    std::sort(split.heldout[u].begin(), split.heldout[u].end());
    ++split.evaluated_users;
  }
  by_user = {};
  start = {};
  auto kept = [&](const Event& e) {
    const auto& h = split.heldout[e.user];
    return !std::binary_search(h.begin(), h.end(), e.title);
  };
  split.train.reserve(size_t(std::count_if(events.begin(), events.end(), kept)));
  for (const Event& e : events)
    if (kept(e)) split.train.push_back(e);
  return split;
}

namespace {

uint64_t mix(uint64_t h) {  // splitmix64 finaliser
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

}  // namespace

ProfileSplit split_profiles(const UserProfiles& p, const TitleMatrix& tags, size_t holdout, uint64_t seed,
                            size_t min_train) {
  MARQUEE_CHECK_ARG(holdout >= 1, "holdout must be at least 1; got {}", holdout);
  MARQUEE_CHECK_ARG(p.dim == tags.dim(), "profiles of {} tags for a catalogue of {}", p.dim, tags.dim());
  ProfileSplit s;
  s.heldout.resize(p.size());
  UserProfiles& t = s.train;
  t.dim = p.dim;
  t.user_ids = p.user_ids;
  t.summaries = p.summaries;
  t.vectors.assign(p.vectors.size(), 0.0f);
  t.seen_offsets.push_back(0);
  for (size_t u = 0; u < p.size(); ++u) {
    std::vector<std::pair<uint64_t, uint32_t>> liked;  // (hash, title) of positively engaged titles
    uint64_t uh = mix(seed ^ 0x9E3779B97F4A7C15ull);
    for (char c : p.user_ids[u]) uh = mix(uh ^ uint8_t(c));
    for (const SeenTitle* st = p.seen_begin(u); st != p.seen_end(u); ++st)
      if (st->weight > 0) liked.emplace_back(mix(uh ^ st->title), st->title);
    if (liked.size() >= holdout + min_train) {
      std::sort(liked.begin(), liked.end());
      for (size_t i = 0; i < holdout; ++i) s.heldout[u].push_back(liked[i].second);
      std::sort(s.heldout[u].begin(), s.heldout[u].end());
      ++s.evaluated_users;
    }
    float* vec = t.vectors.data() + u * t.dim;
    for (const SeenTitle* st = p.seen_begin(u); st != p.seen_end(u); ++st) {
      if (std::binary_search(s.heldout[u].begin(), s.heldout[u].end(), st->title)) continue;
      t.seen.push_back(*st);
      if (st->weight != 0.0f)
        for (uint64_t k = tags.row_ptr()[st->title]; k < tags.row_ptr()[st->title + 1]; ++k)
          vec[tags.col_idx()[k]] += st->weight * tags.values()[k];
    }
    t.seen_offsets.push_back(t.seen.size());
    t.summaries[u].usable = l2_normalise(vec, t.dim) > 1e-12 ? 1 : 0;
    if (!t.summaries[u].usable) std::fill(vec, vec + t.dim, 0.0f);
  }
  return s;
}

namespace {

struct Accumulator {
  double hits10 = 0, ndcg10 = 0, recall50 = 0;
  size_t users = 0;
  std::vector<uint8_t> covered;
  // The report's curves (sums for k = 1 .. hits_at.size(); empty: none) and popularity bias (no
  // popularity: none).
  std::vector<double> hits_at, ndcg_at;
  const std::vector<double>* popularity = nullptr;
  double popularity10 = 0, history_popularity = 0;
  size_t history_users = 0;  // users with a training history (the mean of history_popularity)

  // `history`: the user's training titles (for history_popularity), [history, history_end).
  void add(const uint32_t* ranked, size_t count, const std::vector<uint32_t>& heldout,
           const uint32_t* history = nullptr, const uint32_t* history_end = nullptr) {
    bool hit = false;
    double dcg = 0, idcg = 0;
    size_t found50 = 0;
    double pop = 0;
    for (size_t r = 0; r < count; ++r) {
      const bool rel = std::binary_search(heldout.begin(), heldout.end(), ranked[r]);
      if (r < 10) {
        covered[ranked[r]] = 1;
        if (popularity) pop += (*popularity)[ranked[r]];
        if (rel) {
          hit = true;
          dcg += 1.0 / std::log2(double(r) + 2);
        }
      }
      if (r < 50 && rel) ++found50;
    }
    for (size_t r = 0; r < std::min<size_t>(10, heldout.size()); ++r) idcg += 1.0 / std::log2(double(r) + 2);
    hits10 += hit;
    ndcg10 += idcg > 0 ? dcg / idcg : 0;
    recall50 += double(found50) / double(heldout.size());
    ++users;
    if (popularity) {
      if (count > 0) popularity10 += pop / double(std::min<size_t>(10, count));
      double h = 0;
      for (const uint32_t* t = history; t != history_end; ++t) h += (*popularity)[*t];
      if (history_end > history) history_popularity += h / double(history_end - history), ++history_users;
    }
    // HR@k and NDCG@k for every k: the same sums as above, cut at each rank (a ranking shorter
    // than k counts what it has).
    bool hit_k = false;
    double dcg_k = 0, idcg_k = 0;
    for (size_t k = 0; k < hits_at.size(); ++k) {
      if (k < count && std::binary_search(heldout.begin(), heldout.end(), ranked[k])) {
        hit_k = true;
        dcg_k += 1.0 / std::log2(double(k) + 2);
      }
      if (k < heldout.size()) idcg_k += 1.0 / std::log2(double(k) + 2);
      hits_at[k] += hit_k;
      ndcg_at[k] += idcg_k > 0 ? dcg_k / idcg_k : 0;
    }
  }
  RankingMetrics result(const std::string& name) const {
    RankingMetrics m;
    m.model = name;
    m.users = users;
    if (users == 0) return m;
    m.hr10 = hits10 / users;
    m.ndcg10 = ndcg10 / users;
    m.recall50 = recall50 / users;
    m.coverage10 = double(std::accumulate(covered.begin(), covered.end(), size_t(0))) / double(covered.size());
    for (size_t k = 0; k < hits_at.size(); ++k) {
      m.hr_at.push_back(hits_at[k] / users);
      m.ndcg_at.push_back(ndcg_at[k] / users);
    }
    m.popularity10 = popularity10 / users;
    m.history_popularity = history_users ? history_popularity / double(history_users) : 0.0;
    return m;
  }
};

std::vector<size_t> evaluated(const std::vector<std::vector<uint32_t>>& heldout, size_t limit = SIZE_MAX) {
  std::vector<size_t> users;
  for (size_t u = 0; u < heldout.size() && users.size() < limit; ++u)
    if (!heldout[u].empty()) users.push_back(u);
  return users;
}

}  // namespace

std::vector<double> title_popularity(const UserProfiles& profiles, size_t titles) {
  std::vector<double> share(titles, 0.0);
  for (size_t u = 0; u < profiles.size(); ++u)
    for (const SeenTitle* s = profiles.seen_begin(u); s != profiles.seen_end(u); ++s)
      if (s->title < titles) share[s->title] += 1;
  for (double& x : share) x /= std::max<double>(1, double(profiles.size()));
  return share;
}

RankingMetrics evaluate_ranking(const std::string& name, Scorer& scorer, const std::vector<float>& user_vectors,
                                const Exclusions& train_seen, const std::vector<std::vector<uint32_t>>& heldout,
                                const std::vector<double>* popularity) {
  const size_t dim = scorer.dim();
  const std::vector<size_t> users = evaluated(heldout);
  std::vector<double> own_popularity;
  if (!popularity) {  // the share of train_seen's users who have each title
    own_popularity.assign(scorer.num_titles(), 0.0);
    for (uint32_t t : train_seen.titles)
      if (t < own_popularity.size()) own_popularity[t] += 1;
    for (double& x : own_popularity) x /= std::max<double>(1, double(train_seen.users()));
    popularity = &own_popularity;
  }
  MARQUEE_CHECK_ARG(popularity->size() == scorer.num_titles(), "popularity of {} titles for a scorer of {}",
                    popularity->size(), scorer.num_titles());
  Accumulator acc;
  acc.covered = std::vector<uint8_t>(scorer.num_titles(), 0);
  const size_t k = std::min<size_t>(50, scorer.num_titles());
  acc.hits_at.assign(k, 0.0);
  acc.ndcg_at.assign(k, 0.0);
  acc.popularity = popularity;
  constexpr size_t kBatch = 4096;
  for (size_t b = 0; b < users.size(); b += kBatch) {
    const size_t n = std::min(kBatch, users.size() - b);
    const GatheredUsers g = gather_users(user_vectors.data(), dim, train_seen, users.data() + b, n);
    TopKResult r;
    scorer.search(UserBatchView{n, dim, g.vectors.data(), &g.exclusions}, k, r);
    for (size_t i = 0; i < n; ++i) {
      const size_t u = users[b + i];
      const uint32_t* history = train_seen.titles.data();  // u < train_seen.users(): gather_users checked
      acc.add(r.titles.data() + i * k, r.counts[i], heldout[u], history + train_seen.offsets[u],
              history + train_seen.offsets[u + 1]);
    }
  }
  return acc.result(name);
}

HybridWeights tune_hybrid_weights(const TitleMatrix& tags, const UserProfiles& profiles, const RecommenderModel& model,
                                  const Exclusions& seen, const std::vector<std::vector<uint32_t>>& heldout,
                                  size_t max_users) {
  const std::vector<size_t> users = evaluated(heldout, max_users);
  HybridWeights best = model.weights;
  if (users.empty()) return best;
  const size_t n = users.size(), t = tags.num_titles(), f = model.als.factors, d = tags.dim();
  // The three components for the tuning users, computed once: behaviour and tag score matrices.
  std::vector<float> xu(n * f), tu(n * d), sb(n * t), st(n * t);
  for (size_t i = 0; i < n; ++i) {
    std::copy(model.als.user(users[i]), model.als.user(users[i]) + f, xu.begin() + i * f);
    std::copy(profiles.vector(users[i]), profiles.vector(users[i]) + d, tu.begin() + i * d);
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(t), int(f), 1.0f, xu.data(), int(f),
              model.als.title_factors.data(), int(f), 0.0f, sb.data(), int(t));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(t), int(d), 1.0f, tu.data(), int(d),
              tags.dense().data(), int(d), 0.0f, st.data(), int(t));
  double best_hr = -1, best_ndcg = -1;
  std::vector<float> row(t);
  std::vector<ScoredTitle> top;
  // Log-spaced grid wide enough for either component to dominate the behaviour term.
  const float grid[] = {0.0f, 0.03f, 0.1f, 0.3f, 1.0f, 3.0f, 10.0f, 30.0f, 100.0f};
  for (float wt : grid) {
    for (float wp : grid) {
      Accumulator acc;
      acc.covered = std::vector<uint8_t>(t, 0);
      for (size_t i = 0; i < n; ++i) {
        for (size_t j = 0; j < t; ++j) row[j] = sb[i * t + j] + wt * st[i * t + j] + wp * model.popularity[j];
        for (uint64_t p = seen.offsets[users[i]]; p < seen.offsets[users[i] + 1]; ++p) row[seen.titles[p]] = -INFINITY;
        TopKSelector sel(std::min<size_t>(10, t));
        sel.push_row(0, row.data(), t);
        sel.take_sorted(top);
        std::vector<uint32_t> ranked;
        for (const auto& s : top) ranked.push_back(s.title);
        acc.add(ranked.data(), ranked.size(), heldout[users[i]]);
      }
      const RankingMetrics m = acc.result("");
      if (m.hr10 > best_hr + 1e-12 || (std::fabs(m.hr10 - best_hr) <= 1e-12 && m.ndcg10 > best_ndcg)) {
        best_hr = m.hr10;
        best_ndcg = m.ndcg10;
        best = HybridWeights{1.0f, wt, wp};
      }
    }
  }
  return best;
}

namespace {

// Item-item cosine on the binary "watched and liked" matrix: titles x titles, zero diagonal.
std::vector<float> cowatch_matrix(const UserProfiles& p, size_t titles) {
  std::vector<float> co(titles * titles, 0.0f);
  std::vector<float> n(titles, 0.0f);
  std::vector<uint32_t> liked;
  for (size_t u = 0; u < p.size(); ++u) {
    liked.clear();
    for (const SeenTitle* s = p.seen_begin(u); s != p.seen_end(u); ++s)
      if (s->weight > 0) liked.push_back(s->title);
    for (uint32_t a : liked) {
      n[a] += 1;
      for (uint32_t b : liked)
        if (a != b) co[size_t(a) * titles + b] += 1;
    }
  }
  for (size_t a = 0; a < titles; ++a)
    for (size_t b = 0; b < titles; ++b)
      if (co[a * titles + b] > 0) co[a * titles + b] /= std::sqrt(n[a] * n[b]);
  return co;
}

}  // namespace

size_t evaluation_steps(const EvalOptions& o, size_t titles) {
  // tuning, fit, popularity, tags, co-watch, behaviour, hybrid
  return (o.tune ? 1 : 0) + 1 + 2 + (titles <= o.max_cowatch_titles ? 1 : 0) + 2;
}

EvalReport evaluate_recommenders(const Catalog& catalog, const TitleMatrix& tags, const std::vector<Event>& events,
                                 size_t users, const EvalOptions& o) {
  auto step = [&](const std::string& name) {
    if (o.on_step) o.on_step(name);
  };
  EvalReport report;
  report.users = users;
  report.titles = tags.num_titles();
  const HoldoutSplit split = split_last_titles(events, users, o.holdout);
  report.evaluated_users = split.evaluated_users;
  MARQUEE_CHECK_INPUT(split.evaluated_users > 0,
                      "no user has at least {} titles: nothing to hold out (use a smaller --holdout)", o.holdout + 2);
  const std::vector<std::string> no_ids(users);
  const UserProfiles train = build_profiles(catalog, tags, split.train, no_ids, o.engagement);
  const Exclusions seen = Exclusions::from_profiles(train, ExcludePolicy::Watched);
  const size_t t = tags.num_titles();

  HybridWeights weights;
  if (o.tune) {
    // Validation: the last training title of each user, never the test titles.
    const HoldoutSplit val = split_last_titles(split.train, users, 1);
    const UserProfiles vp = build_profiles(catalog, tags, val.train, no_ids, o.engagement);
    const RecommenderModel vm = fit_recommender(tags, vp, o.als, weights);
    weights = tune_hybrid_weights(tags, vp, vm, Exclusions::from_profiles(vp, ExcludePolicy::Watched), val.heldout,
                                  o.tune_users);
    step("hybrid weights tuned");
  }
  report.weights = weights;
  const RecommenderModel model = fit_recommender(tags, train, o.als, weights);
  step("models fitted");

  auto run = [&](const std::string& name, const TitleMatrix& titles, const std::vector<float>& user_vectors) {
    auto scorer = make_cpu_scorer(titles);
    report.models.push_back(evaluate_ranking(name, *scorer, user_vectors, seen, split.heldout));
    step(name);
  };
  run("popularity", TitleMatrix::from_rows(t, 1, model.popularity), std::vector<float>(users, 1.0f));
  run("tags", tags, train.vectors);
  if (t <= o.max_cowatch_titles) {
    std::vector<float> liked(users * t, 0.0f);
    for (size_t u = 0; u < users; ++u)
      for (const SeenTitle* s = train.seen_begin(u); s != train.seen_end(u); ++s)
        if (s->weight > 0) liked[u * t + s->title] = 1.0f;
    run("cowatch", TitleMatrix::from_rows(t, t, cowatch_matrix(train, t)), liked);
  }
  run("behaviour", model_titles(ModelKind::Behaviour, tags, model), model_users(ModelKind::Behaviour, train, 0, model));
  run("hybrid", model_titles(ModelKind::Hybrid, tags, model), model_users(ModelKind::Hybrid, train, 0, model));
  return report;
}

}  // namespace marquee
