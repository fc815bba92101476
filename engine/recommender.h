// Recommendation models as inner-product spaces, so every one of them runs on the same exact top-K
// fast paths (CPU and GPU scorers):
//   tags       user tag profile . title tag vector (cosine; the walking skeleton's model)
//   behaviour  ALS user factors . ALS title factors (engine/als.h)
//   hybrid     wb * (x_u . y_t) + wt * (tag cosine) + wp * popularity(t), as one inner product of
//              [sqrt(wb) x_u, sqrt(wt) tags_u, sqrt(wp)] and [sqrt(wb) y_t, sqrt(wt) tags_t, sqrt(wp) pop_t]
// Titles nobody has watched (new, or greenlit) get behaviour factors from their tags through a
// ridge regression fitted on the watched catalogue, so `similar`, projection and scoring work for them.
#pragma once

#include "engine/als.h"
#include "engine/profiles.h"
#include "engine/title_matrix.h"

#include <functional>
#include <string>
#include <vector>

namespace marquee {

enum class ModelKind { Tags, Behaviour, Hybrid, Ease };
ModelKind parse_model_kind(const std::string& text);
const char* model_kind_name(ModelKind kind);

/// Defaults sit among the weights `eval-recs` tuned on generated data (docs/quality.md).
struct HybridWeights {
  float behaviour = 1.0f;
  float tags = 1.0f;
  float popularity = 10.0f;
};

struct RecommenderModel {
  AlsModel als;
  std::vector<float> tag_to_factors;  // tags x factors: ridge map for titles without viewers
  std::vector<float> popularity;      // per title: ln(1 + viewers) / ln(1 + max viewers), in [0, 1]
  HybridWeights weights;
};

/// Interactions (user index, title index, weight) of all users in `profiles`, user indices offset by `first_user`.
std::vector<Interaction> interactions_of(const UserProfiles& profiles, size_t first_user = 0);

/// Trains ALS: train_als (CPU) by default; the host passes the GPU twin when the backend is CUDA.
using AlsTrainer = std::function<AlsModel(size_t users, size_t titles, const std::vector<Interaction>&,
                                          const AlsOptions&)>;

/// Fits ALS on the profiles' engagement weights, the cold-start map and popularity.
RecommenderModel fit_recommender(const TitleMatrix& tags, const UserProfiles& profiles, const AlsOptions& als,
                                 const HybridWeights& weights, const AlsTrainer& trainer = {});

/// Title vectors of `kind` (for Tags, a copy of `tags`).
TitleMatrix model_titles(ModelKind kind, const TitleMatrix& tags, const RecommenderModel& model);

/// User vectors of `kind` for users [first_user, first_user + batch.size()) of the fitted model.
std::vector<float> model_users(ModelKind kind, const UserProfiles& batch, size_t first_user,
                               const RecommenderModel& model);

/// Behaviour factors of a title given only its tag vector (tags.dim() floats): the cold-start map.
std::vector<float> factors_from_tags(const float* tag_vector, size_t tag_dim, const RecommenderModel& model);

}  // namespace marquee
