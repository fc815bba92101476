// behaviour and hybrid: implicit ALS title factors (with the tags -> factors map for titles nobody
// watched, and popularity for the hybrid). Users are folded in at scoring time with the exact ALS
// user half-step against the trained title factors.
#include "engine/blas_threads.h"
#include "engine/error.h"
#include "engine/models/families.h"

#include <omp.h>

#include <cmath>
#include <optional>

namespace marquee {
namespace {

// Batches from this size go to the fold-in solver (a GPU pays for batches, not single users).
constexpr size_t kSolverBatchFrom = 64;

class AlsFamilyModel final : public Model {
 public:
  AlsFamilyModel(ModelKind kind, const ModelParams& p) : Model(p), kind_(kind) {
    check_als_arguments(0, 0, {}, p.als);
    if (kind == ModelKind::Hybrid)
      for (float w : {p.weights.behaviour, p.weights.tags, p.weights.popularity})
        MARQUEE_CHECK_ARG(std::isfinite(w) && w >= 0, "hybrid weights must be finite numbers >= 0; got {}", w);
  }
  ModelKind kind() const override { return kind_; }

  void fit(const TitleMatrix& tags, const UserProfiles& profiles, const FitBackend& backend) override {
    model_ = fit_recommender(tags, profiles, params_.als, params_.weights, backend.als);
    model_.als.user_factors.clear();  // users are folded in when scored; the model keeps titles only
    model_.als.users = 0;
    prepare(tags);
  }

  const TitleMatrix& titles() const override { return titles_; }
  const TitleMatrix& similarity_titles() const override { return similarity_; }

  std::vector<float> user_vectors(const UserProfiles& batch) const override {
    const size_t f = model_.als.factors, d = titles_.dim();
    std::vector<float> x = user_factors(batch);
    if (kind_ != ModelKind::Hybrid) return x;
    MARQUEE_CHECK_ARG(f + batch.dim + 1 == d, "profiles of {} tags for a hybrid model of {} tags", batch.dim,
                      d - f - 1);
    const float sb = std::sqrt(model_.weights.behaviour), st = std::sqrt(model_.weights.tags),
                sp = std::sqrt(model_.weights.popularity);
    std::vector<float> out(batch.size() * d, 0.0f);
    for (size_t u = 0; u < batch.size(); ++u) {
      float* r = out.data() + u * d;
      for (size_t j = 0; j < f; ++j) r[j] = sb * x[u * f + j];
      for (size_t j = 0; j < batch.dim; ++j) r[f + j] = st * batch.vector(u)[j];
      r[d - 1] = batch.summaries[u].usable ? sp : 0.0f;  // no signal: no popularity prior either
    }
    return out;
  }

  const RecommenderModel* factor_model() const override { return &model_; }

  std::vector<float> user_factors(const UserProfiles& batch) const override {
    const size_t f = model_.als.factors;
    std::vector<float> out(batch.size() * f, 0.0f);
    if (fold_in_solver_ && batch.size() >= kSolverBatchFrom) {
      std::vector<Interaction> in;
      in.reserve(batch.seen.size());
      for (size_t u = 0; u < batch.size(); ++u)
        for (const SeenTitle* s = batch.seen_begin(u); s != batch.seen_end(u); ++s) {
          MARQUEE_CHECK_ARG(s->title < step_->y_rows, "title index {} outside the model's {} titles", s->title,
                            step_->y_rows);
          in.push_back({uint32_t(u), s->title, s->weight});
        }
      fold_in_solver_(*step_, build_als_csr(batch.size(), in, true, params_.als.alpha), out.data());
      return out;
    }
    const int threads = params_.als.threads > 0 ? params_.als.threads : omp_get_max_threads();
    const SingleThreadedBlas one_blas_thread;  // the users are the parallelism
    // One user (the server's fold-in per request) runs on the caller's thread: no team to wake.
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads) if (batch.size() > 1)
    for (size_t u = 0; u < batch.size(); ++u) {
      std::vector<std::pair<uint32_t, float>> seen;
      for (const SeenTitle* s = batch.seen_begin(u); s != batch.seen_end(u); ++s) seen.emplace_back(s->title, s->weight);
      const std::vector<float> x = als_fold_in(*step_, seen, params_.als.alpha);
      std::copy(x.begin(), x.end(), out.begin() + u * f);
    }
    return out;
  }

  std::vector<ModelArray> arrays() const override {
    const size_t n = model_.als.titles, f = model_.als.factors;
    std::vector<float> seen(model_.als.title_seen.begin(), model_.als.title_seen.end());
    std::vector<ModelArray> a = {{"title_factors", {n, f}, model_.als.title_factors},
                                 {"title_seen", {n}, std::move(seen)},
                                 {"tag_to_factors", {model_.tag_to_factors.size() / std::max<size_t>(f, 1), f},
                                  model_.tag_to_factors},
                                 {"popularity", {n}, model_.popularity}};
    return a;
  }

  void restore(const TitleMatrix& tags, const std::vector<ModelArray>& arrays) override {
    const size_t n = tags.num_titles(), f = params_.als.factors;
    model_ = RecommenderModel{};
    model_.weights = params_.weights;
    model_.als.factors = f;
    model_.als.titles = n;
    model_.als.title_factors = find_model_array(arrays, "title_factors", {n, f}).data;
    const auto& seen = find_model_array(arrays, "title_seen", {n}).data;
    model_.als.title_seen.assign(n, 0);
    for (size_t t = 0; t < n; ++t) model_.als.title_seen[t] = seen[t] != 0.0f;
    model_.tag_to_factors = find_model_array(arrays, "tag_to_factors", {tags.dim(), f}).data;
    model_.popularity = find_model_array(arrays, "popularity", {n}).data;
    for (float v : model_.als.title_factors)
      MARQUEE_CHECK_INPUT(std::isfinite(v), "the model's title factors hold a non-finite value");
    prepare(tags);
  }

 private:
  // The scoring matrices and the fold-in half-step, from model_.
  void prepare(const TitleMatrix& tags) {
    const size_t n = model_.als.titles, f = model_.als.factors;
    titles_ = model_titles(kind_, tags, model_);
    similarity_ = normalised_rows(TitleMatrix::from_rows(n, f, model_.als.title_factors));
    // Training solved users against factors in which titles nobody watched were zero; fold in the same way.
    trained_rows_ = model_.als.title_factors;
    for (size_t t = 0; t < n; ++t)
      if (!model_.als.title_seen[t]) std::fill(trained_rows_.begin() + t * f, trained_rows_.begin() + (t + 1) * f, 0.0f);
    step_.emplace(model_.als.title_factors.data(), n, f, params_.als, trained_rows_.data());
  }

  ModelKind kind_;
  RecommenderModel model_;
  TitleMatrix titles_, similarity_;
  std::vector<float> trained_rows_;
  std::optional<AlsHalfStep> step_;
};

}  // namespace

std::unique_ptr<Model> make_als_model(ModelKind kind, const ModelParams& params) {
  return std::make_unique<AlsFamilyModel>(kind, params);
}

}  // namespace marquee
