// Hyperparameter search for `marquee train`: every family fitted on the training part of a
// held-out split, ranked on the validation users' held-out titles by NDCG@10, within a time budget.
// The search is generic (coordinate steps over log-spaced grids, starting from values the
// literature reports as robust on real implicit-feedback data), never tuned to our generator:
//   ease       lambda, ladder x4 then x2 around the best (Steck 2019 reports 100..1000s)
//   behaviour  factors 64 -> 32..256, then regularisation, confidence alpha, the unobserved weight
//              w0 and frequency scaling nu (Rendle et al. 2021: nu = 1 with a small w0 often wins)
//   hybrid     the best behaviour model plus tag-cosine and popularity weights (0..3, 0..10)
//   tags       the catalogue's tag vectors (no parameters)
#pragma once

#include "engine/evaluation.h"
#include "engine/model.h"
#include "engine/profiles.h"
#include "engine/scorer.h"
#include "engine/title_matrix.h"

#include <functional>
#include <string>
#include <vector>

namespace marquee {

struct SearchTrial {
  ModelKind kind = ModelKind::Tags;
  ModelParams params;
  std::string label;        // "ease lambda=500", "behaviour f=128 reg=... "
  RankingMetrics metrics;   // on the validation users
  double seconds = 0;       // fit + evaluation
};

struct SearchOptions {
  std::vector<ModelKind> families;  // empty: every family (the `auto` model)
  double time_budget_s = 300;       // the search stops starting trials past this
  size_t max_validation_users = 3000;
  size_t max_ease_titles = 25000;   // above this EASE is skipped (titles^2 memory and time)
  ModelParams base;                 // starting point (and fixed values such as the seed, threads)
  FitBackend backend;               // where ALS and EASE's inverse run (empty: the CPU)
  std::function<void(const SearchTrial&, double elapsed_s, double budget_s)> on_trial;  // progress
};

struct SearchResult {
  std::vector<SearchTrial> trials;  // in the order they ran
  size_t best = 0;                  // index into trials: highest NDCG@10 (then HR@10, then earlier)
  RankingMetrics popularity;        // the popularity reference on the same users
  size_t validation_users = 0;
  bool budget_exhausted = false;
};

/// Runs the search. `train` holds every user's training profile; `heldout[u]` the held-out titles of
/// user u (empty: not a validation user). Throws ArgumentError when nothing can be validated.
SearchResult search_models(const TitleMatrix& tags, const UserProfiles& train,
                           const std::vector<std::vector<uint32_t>>& heldout, const SearchOptions& options);

/// Fits one model and measures it on the validation users (the search's unit of work); the fitted
/// model is handed back through `fitted` when given.
SearchTrial evaluate_model(ModelKind kind, const ModelParams& params, const TitleMatrix& tags, const UserProfiles& train,
                           const UserProfiles& validation, const std::vector<std::vector<uint32_t>>& validation_heldout,
                           const FitBackend& backend = {}, std::unique_ptr<Model>* fitted = nullptr);

/// Measures a fitted model on every user with held-out titles (`heldout[u]` for user u of `train`),
/// excluding their training titles. Users are folded in batch by batch (bounded memory).
RankingMetrics evaluate_fitted(const std::string& name, const Model& model, const UserProfiles& train,
                               const std::vector<std::vector<uint32_t>>& heldout);

/// "behaviour f=64 reg=2 alpha=5 w0=1 nu=0 it=12", "ease lambda=500", "hybrid tags=0.3 pop=0.1".
std::string describe_params(ModelKind kind, const ModelParams& params);

}  // namespace marquee
