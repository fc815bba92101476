#include "engine/model_search.h"

#include "engine/clock.h"
#include "engine/error.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace marquee {
namespace {

bool better(const RankingMetrics& a, const RankingMetrics& b) {
  if (a.ndcg10 != b.ndcg10) return a.ndcg10 > b.ndcg10;
  return a.hr10 > b.hr10;
}

// Up to `limit` users with held-out titles, evenly strided over the user range (deterministic).
std::vector<size_t> pick_validation_users(const std::vector<std::vector<uint32_t>>& heldout, size_t limit) {
  std::vector<size_t> all;
  for (size_t u = 0; u < heldout.size(); ++u)
    if (!heldout[u].empty()) all.push_back(u);
  if (all.size() <= limit) return all;
  std::vector<size_t> picked;
  for (size_t i = 0; i < limit; ++i) picked.push_back(all[i * all.size() / limit]);
  return picked;
}

RankingMetrics measure(const std::string& name, const TitleMatrix& titles, const std::vector<float>& users,
                       const UserProfiles& validation, const std::vector<std::vector<uint32_t>>& heldout) {
  auto scorer = make_cpu_scorer(titles);
  return evaluate_ranking(name, *scorer, users, Exclusions::from_profiles(validation, ExcludePolicy::Watched), heldout);
}

std::string num(double v) { return fmt::format("{:.4g}", v); }

// The search state: trials so far, the budget, and the best trial of each family.
class Search {
 public:
  Search(const TitleMatrix& tags, const UserProfiles& train, const UserProfiles& validation,
         const std::vector<std::vector<uint32_t>>& heldout, const SearchOptions& o)
      : tags_(tags), train_(train), validation_(validation), heldout_(heldout), o_(o), t0_(Clock::now()) {}

  bool over_budget() const { return seconds_since(t0_) > o_.time_budget_s; }

  // Runs a trial unless it ran before or (when `may_skip`) the budget is spent; returns its NDCG@10
  // (or -1 when skipped).
  double run(ModelKind kind, const ModelParams& p, bool may_skip = true) {
    const std::string label = describe_params(kind, p);
    if (const auto it = done_.find(label); it != done_.end()) return result_.trials[it->second].metrics.ndcg10;
    if (may_skip && (over_budget() || seconds_since(t0_) + predicted_seconds(kind, p) > o_.time_budget_s)) {
      result_.budget_exhausted = true;
      return -1;
    }
    std::unique_ptr<Model> model;
    SearchTrial t = evaluate_model(kind, p, tags_, train_, validation_, heldout_, o_.backend, &model);
    // Keep the best behaviour model: the hybrid search reuses its title side instead of refitting.
    const SearchTrial* b = best(kind);
    if (kind == ModelKind::Behaviour && (!b || better(t.metrics, b->metrics))) best_behaviour_ = std::move(model);
    record(std::move(t));
    return result_.trials.back().metrics.ndcg10;
  }

  // The fitted model of the best behaviour trial (null before one ran).
  const Model* best_behaviour_model() const { return best_behaviour_.get(); }

  void record(SearchTrial t) {
    done_[t.label] = result_.trials.size();
    result_.trials.push_back(std::move(t));
    if (o_.on_trial) o_.on_trial(result_.trials.back(), seconds_since(t0_), o_.time_budget_s);
  }

  // What a trial will take, from the latest trial of the same family: ALS time grows with
  // factors^2 (the per-row systems) and iterations; 0 when nothing is known yet. So that one slow
  // trial (256 factors on a large set) does not run far past the budget.
  double predicted_seconds(ModelKind kind, const ModelParams& p) const {
    for (auto it = result_.trials.rbegin(); it != result_.trials.rend(); ++it) {
      if (it->kind != kind) continue;
      if (kind != ModelKind::Behaviour && kind != ModelKind::Hybrid) return it->seconds;
      const double f = double(p.als.factors) / double(it->params.als.factors);
      return it->seconds * f * f * double(p.als.iterations) / double(it->params.als.iterations);
    }
    return 0;
  }

  // The best trial of `kind` so far (nullptr when none ran).
  const SearchTrial* best(ModelKind kind) const {
    const SearchTrial* b = nullptr;
    for (const auto& t : result_.trials)
      if (t.kind == kind && (!b || better(t.metrics, b->metrics))) b = &t;
    return b;
  }

  // Tries `values` of one parameter (set by `apply`) from the best params of `kind` so far; keeps the best.
  template <class T, class Apply>
  void sweep(ModelKind kind, const std::vector<T>& values, Apply apply) {
    for (const T& v : values) {
      const SearchTrial* b = best(kind);
      if (!b) return;
      ModelParams p = b->params;
      apply(p, v);
      run(kind, p);
    }
  }

  SearchResult& result() { return result_; }
  const TitleMatrix& tags() const { return tags_; }
  const UserProfiles& validation() const { return validation_; }
  const std::vector<std::vector<uint32_t>>& heldout() const { return heldout_; }
  const SearchOptions& options() const { return o_; }
  Clock::time_point start() const { return t0_; }

 private:
  const TitleMatrix& tags_;
  const UserProfiles& train_;
  const UserProfiles& validation_;
  const std::vector<std::vector<uint32_t>>& heldout_;
  const SearchOptions& o_;
  Clock::time_point t0_;
  SearchResult result_;
  std::map<std::string, size_t> done_;
  std::unique_ptr<Model> best_behaviour_;
};

void search_ease(Search& s, const ModelParams& base) {
  ModelParams p = base;
  p.ease_lambda = 200;
  double best = s.run(ModelKind::Ease, p, false);
  // Ladder x4 in the direction that helps, then x2 around the best.
  for (const double step : {4.0, 0.25}) {
    for (int i = 0; i < 4; ++i) {
      ModelParams q = s.best(ModelKind::Ease)->params;
      q.ease_lambda = float(q.ease_lambda * step);
      const double got = s.run(ModelKind::Ease, q);
      if (got <= best) break;
      best = got;
    }
  }
  s.sweep(ModelKind::Ease, std::vector<double>{0.5, 2.0}, [](ModelParams& q, double f) { q.ease_lambda *= float(f); });
}

void search_behaviour(Search& s, const ModelParams& base, double mean_titles) {
  ModelParams p = base;
  p.als.factors = 64;
  p.als.iterations = 15;
  p.als.regularization = 5;
  p.als.alpha = 5;
  p.als.unobserved_weight = 1;
  p.als.reg_exponent = 0;
  s.run(ModelKind::Behaviour, p, false);
  const auto K = ModelKind::Behaviour;
  s.sweep(K, std::vector<float>{0.5f, 2, 20, 80}, [](ModelParams& q, float v) { q.als.regularization = v; });
  s.sweep(K, std::vector<float>{1, 20, 60}, [](ModelParams& q, float v) { q.als.alpha = v; });
  s.sweep(K, std::vector<float>{0.1f, 0.3f}, [](ModelParams& q, float v) { q.als.unobserved_weight = v; });
  // Frequency scaling: keep the average row's effective regularisation, then re-tune it.
  const double titles = double(s.tags().num_titles());
  s.sweep(K, std::vector<float>{1.0f}, [&](ModelParams& q, float nu) {
    q.als.regularization = float(q.als.regularization / (mean_titles + q.als.unobserved_weight * titles));
    q.als.reg_exponent = nu;
  });
  s.sweep(K, std::vector<float>{0.25f, 4}, [](ModelParams& q, float f) { q.als.regularization *= f; });
  s.sweep(K, std::vector<size_t>{32, 128, 256}, [](ModelParams& q, size_t f) { q.als.factors = f; });
  s.sweep(K, std::vector<float>{0.5f, 2}, [](ModelParams& q, float f) { q.als.regularization *= f; });
  s.sweep(K, std::vector<size_t>{25}, [](ModelParams& q, size_t it) { q.als.iterations = it; });
}

// Hybrid weights on top of the best behaviour model: its fitted title side is reused (no ALS refit),
// so each grid point costs one fold-in and one ranking of the validation users.
void search_hybrid(Search& s) {
  const SearchTrial* b = s.best(ModelKind::Behaviour);
  const Model* behaviour = s.best_behaviour_model();
  if (!b || !behaviour) return;
  const ModelParams base = b->params;
  const std::vector<ModelArray> arrays = behaviour->arrays();
  // Log-spaced, wide enough for either part to dominate the behaviour term.
  for (float wt : {0.0f, 0.1f, 0.3f, 1.0f, 3.0f}) {
    for (float wp : {0.0f, 0.1f, 0.3f, 1.0f, 3.0f, 10.0f}) {
      if (wt == 0 && wp == 0) continue;  // that is the behaviour model itself
      if (s.over_budget() && s.best(ModelKind::Hybrid)) {
        s.result().budget_exhausted = true;
        return;
      }
      const auto t0 = Clock::now();
      ModelParams p = base;
      p.weights = HybridWeights{1.0f, wt, wp};
      auto hybrid = make_model(ModelKind::Hybrid, p);
      hybrid->restore(s.tags(), arrays);
      SearchTrial t;
      t.kind = ModelKind::Hybrid;
      t.params = p;
      t.label = describe_params(ModelKind::Hybrid, p);
      t.metrics = measure(t.label, hybrid->titles(), hybrid->user_vectors(s.validation()), s.validation(), s.heldout());
      t.seconds = seconds_since(t0);
      s.record(std::move(t));
    }
  }
}

}  // namespace

std::string describe_params(ModelKind kind, const ModelParams& p) {
  switch (kind) {
    case ModelKind::Tags: return "tags";
    case ModelKind::Ease: return "ease lambda=" + num(p.ease_lambda);
    case ModelKind::Behaviour:
    case ModelKind::Hybrid: {
      std::string s = fmt::format("{} f={} reg={} alpha={} w0={} nu={} it={}", model_kind_name(kind), p.als.factors,
                                  num(p.als.regularization), num(p.als.alpha), num(p.als.unobserved_weight),
                                  num(p.als.reg_exponent), p.als.iterations);
      if (kind == ModelKind::Hybrid) s += " tags=" + num(p.weights.tags) + " pop=" + num(p.weights.popularity);
      return s;
    }
  }
  return "?";
}

SearchTrial evaluate_model(ModelKind kind, const ModelParams& params, const TitleMatrix& tags, const UserProfiles& train,
                           const UserProfiles& validation, const std::vector<std::vector<uint32_t>>& heldout,
                           const FitBackend& backend, std::unique_ptr<Model>* fitted) {
  const auto t0 = Clock::now();
  SearchTrial t;
  t.kind = kind;
  t.params = params;
  t.label = describe_params(kind, params);
  auto model = make_model(kind, params);
  model->fit(tags, train, backend);
  t.metrics = measure(t.label, model->titles(), model->user_vectors(validation), validation, heldout);
  t.seconds = seconds_since(t0);
  if (fitted) *fitted = std::move(model);
  return t;
}

RankingMetrics evaluate_fitted(const std::string& name, const Model& model, const UserProfiles& train,
                               const std::vector<std::vector<uint32_t>>& heldout) {
  MARQUEE_CHECK_ARG(heldout.size() == train.size(), "held-out lists for {} users, profiles for {}", heldout.size(),
                    train.size());
  const std::vector<size_t> users = pick_validation_users(heldout, SIZE_MAX);
  auto scorer = make_cpu_scorer(model.titles());
  // Accumulate per batch: evaluate_ranking averages over its users, so weight each batch by its size.
  RankingMetrics total;
  total.model = name;
  // Popularity over all training users, not one batch's.
  const std::vector<double> popularity = title_popularity(train, model.titles().num_titles());
  // One batch up to 512 MB of user vectors (then coverage is exact; past it, the largest batch's).
  const size_t kBatch = std::max<size_t>(2048, (size_t(128) << 20) / std::max<size_t>(1, model.dim()));
  for (size_t b = 0; b < users.size(); b += kBatch) {
    const std::vector<size_t> part(users.begin() + b, users.begin() + std::min(users.size(), b + kBatch));
    const UserProfiles v = select_users(train, part);
    std::vector<std::vector<uint32_t>> held;
    for (size_t u : part) held.push_back(heldout[u]);
    const RankingMetrics m = evaluate_ranking(name, *scorer, model.user_vectors(v),
                                              Exclusions::from_profiles(v, ExcludePolicy::Watched), held, &popularity);
    const double w = double(m.users);
    total.hr10 += m.hr10 * w, total.ndcg10 += m.ndcg10 * w, total.recall50 += m.recall50 * w;
    total.popularity10 += m.popularity10 * w, total.history_popularity += m.history_popularity * w;
    total.hr_at.resize(m.hr_at.size(), 0.0);
    total.ndcg_at.resize(m.ndcg_at.size(), 0.0);
    for (size_t k = 0; k < m.hr_at.size(); ++k) total.hr_at[k] += m.hr_at[k] * w, total.ndcg_at[k] += m.ndcg_at[k] * w;
    total.coverage10 = std::max(total.coverage10, m.coverage10);
    total.users += m.users;
  }
  if (total.users > 0) {
    const double n = double(total.users);
    total.hr10 /= n, total.ndcg10 /= n, total.recall50 /= n, total.popularity10 /= n, total.history_popularity /= n;
    for (size_t k = 0; k < total.hr_at.size(); ++k) total.hr_at[k] /= n, total.ndcg_at[k] /= n;
  }
  return total;
}

SearchResult search_models(const TitleMatrix& tags, const UserProfiles& train,
                           const std::vector<std::vector<uint32_t>>& heldout, const SearchOptions& o) {
  MARQUEE_CHECK_ARG(heldout.size() == train.size(), "held-out lists for {} users, profiles for {}", heldout.size(),
                    train.size());
  const std::vector<size_t> users = pick_validation_users(heldout, o.max_validation_users);
  MARQUEE_CHECK_ARG(!users.empty(),
                    "no user has enough titles to hold one out for validation: train needs users with at least 3 "
                    "titles");
  const UserProfiles validation = select_users(train, users);
  std::vector<std::vector<uint32_t>> vheld;
  for (size_t u : users) vheld.push_back(heldout[u]);

  Search s(tags, train, validation, vheld, o);
  SearchResult& r = s.result();
  r.validation_users = users.size();
  // Popularity: positive viewers per title in the training profiles.
  std::vector<float> viewers(tags.num_titles(), 0.0f);
  for (const SeenTitle& st : train.seen)
    if (st.weight > 0) viewers[st.title] += 1;
  r.popularity = measure("popularity", TitleMatrix::from_rows(tags.num_titles(), 1, viewers),
                         std::vector<float>(users.size(), 1.0f), validation, vheld);

  auto wanted = [&](ModelKind k) {
    return o.families.empty() || std::find(o.families.begin(), o.families.end(), k) != o.families.end();
  };
  double mean_titles = double(train.seen.size()) / double(std::max<size_t>(1, train.size()));
  if (wanted(ModelKind::Tags)) s.run(ModelKind::Tags, o.base, false);
  if (wanted(ModelKind::Ease) && tags.num_titles() <= o.max_ease_titles) search_ease(s, o.base);
  if (wanted(ModelKind::Behaviour) || wanted(ModelKind::Hybrid)) search_behaviour(s, o.base, mean_titles);
  if (wanted(ModelKind::Hybrid)) search_hybrid(s);

  MARQUEE_CHECK_ARG(!r.trials.empty(), "no model family to search");
  r.best = 0;
  for (size_t i = 1; i < r.trials.size(); ++i) {
    if (!wanted(r.trials[i].kind)) continue;
    if (!wanted(r.trials[r.best].kind) || better(r.trials[i].metrics, r.trials[r.best].metrics)) r.best = i;
  }
  return r;
}

}  // namespace marquee
