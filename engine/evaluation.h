// Offline evaluation of recommenders on held-out next watches (`marquee eval-recs`): each user's
// last N titles by the time they started them are held out, every model is trained on the rest,
// and each model's top-K (excluding the training history) is checked against the held-out titles.
#pragma once

#include "engine/als.h"
#include "engine/catalog.h"
#include "engine/events.h"
#include "engine/recommender.h"
#include "engine/scorer.h"
#include "engine/title_matrix.h"

#include <functional>
#include <string>
#include <vector>

namespace marquee {

struct HoldoutSplit {
  std::vector<Event> train;
  std::vector<std::vector<uint32_t>> heldout;  // per user; empty = user not evaluated
  size_t evaluated_users = 0;
};

/// Holds out the last `holdout` distinct titles each user started (by first event time; ties by
/// title index) for users with at least holdout + min_train titles; their events leave `train`.
HoldoutSplit split_last_titles(const std::vector<Event>& events, size_t users, size_t holdout, size_t min_train = 2);

struct ProfileSplit {
  UserProfiles train;                          // every user, minus their held-out titles
  std::vector<std::vector<uint32_t>> heldout;  // per user; empty = user not evaluated
  size_t evaluated_users = 0;
};

/// The split for profiles without event times (a profiles file): for users with at least
/// holdout + min_train positively engaged titles, `holdout` of those chosen by a hash of (seed,
/// user id, title) leave the profile; the tag vector is rebuilt from the remaining titles
/// (engagement-weighted sum of `tags` rows, L2-normalised, as build_profiles does).
ProfileSplit split_profiles(const UserProfiles& profiles, const TitleMatrix& tags, size_t holdout, uint64_t seed,
                            size_t min_train = 2);

struct RankingMetrics {
  std::string model;
  double hr10 = 0;        // share of users with a held-out title in their top 10
  double ndcg10 = 0;      // binary-relevance NDCG@10
  double recall50 = 0;    // share of each user's held-out titles in their top 50, averaged
  double coverage10 = 0;  // distinct titles in anyone's top 10 / catalogue size
  size_t users = 0;
  // The curves of the eval-recs report: hr_at[k - 1] is HR@k and ndcg_at[k - 1] NDCG@k for
  // k = 1 .. the ranking depth (50, or the catalogue size when smaller); hr_at[9] == hr10.
  std::vector<double> hr_at, ndcg_at;
  // Popularity bias: popularity10 is the mean popularity (share of training users who watched the
  // title) of the titles in a user's top 10, averaged over users; history_popularity the same mean
  // over the titles each user watched in training (users with any). Their ratio, popularity_lift10(), is 1 for
  // recommendations as popular as what users watch and above 1 for a model that favours hits.
  double popularity10 = 0, history_popularity = 0;
  double popularity_lift10() const { return history_popularity > 0 ? popularity10 / history_popularity : 0.0; }
};

/// Share of the users of `profiles` who watched each title (a seen entry of any weight): the
/// popularity of RankingMetrics::popularity10.
std::vector<double> title_popularity(const UserProfiles& profiles, size_t titles);

/// Ranks every evaluated user (heldout[u] non-empty) with `scorer` over `user_vectors` (users x
/// scorer.dim()), excluding `train_seen`, and scores the ranking against `heldout`. `popularity`
/// (per title, title_popularity) defaults to the share of train_seen's users who have the title.
RankingMetrics evaluate_ranking(const std::string& name, Scorer& scorer, const std::vector<float>& user_vectors,
                                const Exclusions& train_seen, const std::vector<std::vector<uint32_t>>& heldout,
                                const std::vector<double>* popularity = nullptr);

struct EvalOptions {
  size_t holdout = 1;
  AlsOptions als;
  bool tune = true;                 // tune the hybrid weights on a validation split of the training data
  size_t tune_users = 2000;         // validation users used for tuning
  size_t max_cowatch_titles = 10000;  // item-item co-watch needs a titles x titles matrix
  EngagementOptions engagement;
  /// Progress: called as each step ends (the tuning, the fit, each model's ranking) with its name.
  std::function<void(const std::string& step)> on_step;
};

/// How many times evaluate_recommenders calls `on_step` for these options and titles.
size_t evaluation_steps(const EvalOptions& options, size_t titles);

struct EvalReport {
  std::vector<RankingMetrics> models;  // popularity, tags, cowatch, behaviour, hybrid
  HybridWeights weights;               // the hybrid weights used
  size_t users = 0, evaluated_users = 0, titles = 0;
  std::string chosen;                  // eval-recs: the configuration `marquee train` chose
};

EvalReport evaluate_recommenders(const Catalog& catalog, const TitleMatrix& tags, const std::vector<Event>& events,
                                 size_t users, const EvalOptions& options);

/// Picks hybrid weights (behaviour fixed at 1) maximising HR@10 (then NDCG@10) for the users with a
/// held-out title, over a small grid. `model` was trained without the held-out titles.
HybridWeights tune_hybrid_weights(const TitleMatrix& tags, const UserProfiles& profiles, const RecommenderModel& model,
                                  const Exclusions& seen, const std::vector<std::vector<uint32_t>>& heldout,
                                  size_t max_users);

}  // namespace marquee
