// Audience projection for titles known only by their expert tags (`marquee project`,
// docs/projection.md). Backend-neutral pieces:
//   - a new title's tag vector (same IDF and normalisation as the catalogue's titles);
//   - profiles with some titles removed (what a user looked like before a title existed);
//   - per (user, title) features: tag cosine, hybrid-model behaviour score (ALS user factors against
//     the cold-start factors of the title's tags), and activity ln(1 + titles watched);
//   - calibration: logistic regression of "watched" on those features, fitted by IRLS on
//     (sampled user, calibration title) pairs whose titles were removed from the profiles first, so
//     every calibration title is exactly as "new" as a projected one;
//   - streaming accumulators: audience size with intervals, daypart, segments, fan-cohort lifts;
//   - held-out evaluation helpers: Mann-Whitney AUC with ties.
#pragma once

#include "engine/catalog.h"
#include "engine/model.h"
#include "engine/profiles.h"
#include "engine/recommender.h"
#include "engine/title_matrix.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace marquee {

/// A title described by its expert tags only.
struct NewTitle {
  std::string id;
  std::string name;
  std::vector<std::pair<uint32_t, float>> tags;  // (tag index, weight in (0, 1])
};

/// IDF-weighted, L2-normalised tag vector (tags.dim() floats) computed as TitleMatrix::build does.
/// Throws ArgumentError when no tag is given or an index is out of range.
std::vector<float> new_title_vector(const TitleMatrix& tags, const NewTitle& title);

/// A catalogue title's expert tags as a NewTitle (for `--as-new`).
NewTitle catalog_title_as_new(const Catalog& catalog, uint32_t title);

/// Profiles without the seen entries of `titles` (sorted or not); user vectors are recomputed as
/// build_profiles does (engagement-weighted sum of title vectors, L2-normalised, zero and unusable
/// when the norm is <= 1e-12), summaries' title counts are updated. Users are kept, even when left
/// with nothing. Daypart histograms are kept as they were.
UserProfiles remove_titles(const UserProfiles& profiles, const TitleMatrix& tags, std::vector<uint32_t> titles);

// ------------------------------------------------------------------------------------------------
// Features and calibration
// ------------------------------------------------------------------------------------------------

/// Feature columns of the calibration model; a model uses a subset (a bit mask).
enum FeatureBit : unsigned { kFeatTags = 1u, kFeatBehaviour = 2u, kFeatActivity = 4u, kFeatNeighbours = 8u };
/// Raw feature layout: [tag cosine, behaviour score, activity, neighbours].
constexpr size_t kNumFeatures = 4;
constexpr const char* kFeatureNames[kNumFeatures] = {"tags", "behaviour", "activity", "neighbours"};

/// The neighbours feature: mean of the kNeighbourTerms largest tag cosines between the title and
/// the titles the user engaged with positively (0 without any). `sims` holds the title's cosine to
/// every catalogue title.
constexpr size_t kNeighbourTerms = 3;
float neighbour_feature(const SeenTitle* begin, const SeenTitle* end, const float* sims);

/// Where affinity lives: tag cosine only, or tag cosine plus the hybrid model's behaviour score.
enum class ProjectionSpace { Tags, Hybrid };
ProjectionSpace parse_projection_space(const std::string& text);
const char* projection_space_name(ProjectionSpace space);
/// The projection's feature mask in a space: taste features plus activity.
unsigned projection_features(ProjectionSpace space);
/// "tags+behaviour+activity" etc.
std::string feature_names(unsigned mask);

/// ln(1 + titles watched): the user-activity feature.
inline float activity_feature(size_t titles_watched) { return float(std::log1p(double(titles_watched))); }

struct LogisticOptions {
  size_t max_iterations = 30;
  double ridge = 1e-4;     // L2 penalty on the non-intercept coefficients (keeps separable data finite)
  double tolerance = 1e-8;  // stop when the largest coefficient step is below this
};

/// Logistic regression: p = sigmoid(beta[0] + sum_i beta[1 + i] x_i).
struct Logistic {
  std::vector<double> beta;  // intercept first
  size_t iterations = 0;
  double log_likelihood = 0;

  double logit(const float* x) const;
  double predict(const float* x) const;
};

/// Fits by Newton / IRLS on n rows of f features (row-major x, labels y in {0, 1}). Throws
/// ArgumentError for empty input or mismatched sizes.
Logistic fit_logistic(const std::vector<float>& x, const std::vector<uint8_t>& y, size_t f,
                      const LogisticOptions& options = {});

/// The calibrated model of one feature mask.
struct CalibratedModel {
  unsigned features = 0;
  Logistic logistic;  // over the mask's features, in layout order
  /// Per calibration title: ln((actual + 1) / (predicted + 1)) over the sampled users; their 10 % and
  /// 90 % quantiles widen the audience interval for title-level error (docs/projection.md).
  std::vector<double> log_ratios;
  double log_ratio_q10 = 0, log_ratio_q90 = 0;

  /// Picks the mask's features out of a raw [tags, behaviour, activity] row.
  void select(const float* raw, float* out) const;
  double predict_raw(const float* raw) const;
  /// The taste part of the logit (everything but the intercept and the activity term).
  double affinity_raw(const float* raw) const;
};

struct CalibrationOptions {
  size_t titles = 64;     // calibration titles, drawn with the seed among tagged, non-excluded titles
  size_t users = 20000;   // sampled users (evenly strided, deterministic)
  uint64_t seed = 42;
  AlsOptions als;         // hybrid space only, without a saved model
  LogisticOptions logistic;
  /// Hybrid space: a saved behaviour or hybrid model (`--model-dir`). The calibration then fits no
  /// ALS: the sampled users are folded in without the calibration titles, which get factors from
  /// their tags (the map every unreleased title goes through), and `profiles` may be a sample.
  const Model* saved_model = nullptr;
};

/// Where the hybrid space's behaviour feature gets its factors: a model fitted on exactly the users
/// projected (their trained rows, by index), or a saved model that folds each batch of users in from
/// their engagement (so nothing is fitted at projection time and any users can be projected).
class BehaviourFactors {
 public:
  explicit BehaviourFactors(const RecommenderModel& fitted) : fitted_(&fitted) {}
  /// Throws ArgumentError when `saved` has no behaviour factors (tags, ease).
  explicit BehaviourFactors(const Model& saved);
  /// Title factors and the tags -> factors map.
  const RecommenderModel& model() const { return *fitted_; }
  size_t factors() const { return fitted_->als.factors; }
  /// batch.size() x factors(): users [first_user, first_user + batch.size()) of the fitted model, or
  /// the batch folded in against the saved one.
  std::vector<float> users(const UserProfiles& batch, size_t first_user) const;

 private:
  const RecommenderModel* fitted_ = nullptr;
  const Model* saved_ = nullptr;
};

struct Calibration {
  ProjectionSpace space = ProjectionSpace::Tags;
  std::vector<uint32_t> titles;           // calibration titles
  size_t users = 0, pairs = 0, positives = 0;
  std::vector<CalibratedModel> models;    // one per requested mask, in request order

  const CalibratedModel& model(unsigned mask) const;
};

/// Fits the calibration: picks calibration titles (not in `excluded`, with tags), removes them
/// from `profiles`, fits the space's model on what remains (hybrid: ALS + cold-start map, so the
/// calibration titles get factors from their tags only), computes features for the sampled users x
/// calibration titles, and fits one logistic regression per mask in `masks`. `profiles` must
/// hold every user for the hybrid space (ALS needs them); for tags a sample is enough.
Calibration calibrate(const TitleMatrix& tags, const UserProfiles& profiles, ProjectionSpace space,
                      const std::vector<unsigned>& masks, const std::vector<uint32_t>& excluded,
                      const CalibrationOptions& options);

/// Row vectors for computing the features with an inner-product Scorer: the scorer's "titles" are
/// rows for each new title (tags: its tag vector; hybrid: [y, 0] and [0, tag vector]); users are
/// [tag vector] or [x_u, tag vector].
struct FeatureSpace {
  ProjectionSpace space = ProjectionSpace::Tags;
  size_t tag_dim = 0, factors = 0, new_titles = 0;
  TitleMatrix rows;  // rows_per_title() x new_titles
  std::vector<std::vector<float>> sims;  // per new title: tag cosine to every catalogue title

  size_t rows_per_title() const { return space == ProjectionSpace::Tags ? 1 : 2; }
  size_t user_dim() const { return factors + tag_dim; }
  /// User rows for a batch of users [first_user, first_user + batch.size()) of `model` (hybrid).
  std::vector<float> user_rows(const UserProfiles& batch, size_t first_user, const BehaviourFactors* behaviour) const;
  /// Raw features (batch x new_titles x kNumFeatures) from the scores of every row for every user:
  /// `scores` is batch x rows (row order), as unpacked from a scorer.
  void features(const UserProfiles& batch, const float* scores, float* out) const;
};

/// Builds the feature space for `titles` (tag vectors from new_title_vector). For hybrid, `model`
/// supplies the cold-start map (factors_from_tags).
FeatureSpace make_feature_space(ProjectionSpace space, const TitleMatrix& tags,
                                const std::vector<std::vector<float>>& title_vectors, const BehaviourFactors* behaviour);

/// Naive reference: raw features of every user of `batch` against one title (for tests and small cases).
void naive_features(const UserProfiles& batch, size_t first_user, const BehaviourFactors* behaviour,
                    const std::vector<float>& tag_vector, const std::vector<float>& factors, float* out);

// ------------------------------------------------------------------------------------------------
// Streaming accumulation of a projection
// ------------------------------------------------------------------------------------------------

struct AudienceEstimate {
  double expected = 0;      // sum of p over users
  double sd = 0;            // Poisson-binomial standard deviation sqrt(sum p (1 - p))
  double lo95 = 0, hi95 = 0;  // expected -/+ 1.96 sd, clamped to [0, users]
  double lo80 = 0, hi80 = 0;  // title-level interval: expected x exp(calibration log-ratio quantiles)
  size_t users = 0;
};

struct CohortLift {
  uint32_t title = 0;
  size_t fans = 0;             // users with engagement >= fan weight on the title
  double expected_fans = 0;    // sum of p over the fans
  double audience_share = 0;   // expected_fans / expected audience
  double user_share = 0;       // fans / users
  double lift = 0;             // audience_share / user_share
};

struct SegmentShare {
  int32_t segment = 0;
  size_t users = 0;
  double expected = 0;         // sum of p over the segment
  double mean_affinity = 0;    // mean affinity (taste logit) of its users
  double audience_share = 0, user_share = 0, lift = 0;
  std::vector<std::pair<uint32_t, double>> emphasis;  // the title's tags this segment over-weights, best first
  // What the segment is: its most over-represented tags of all (segment mean - all users' mean of
  // the profile vectors, as `marquee segment` describes segments), best first, at most emphasis_tags.
  std::vector<std::pair<uint32_t, double>> top_tags;
};

struct ComparableTitle {
  uint32_t title = 0;
  double similarity = 0;  // tag cosine
  size_t viewers = 0;     // users with events for it
};

/// Accumulates one new title's projection over user batches (memory: titles + segments x dim).
class ProjectionAccumulator {
 public:
  ProjectionAccumulator(size_t num_titles, size_t tag_dim, size_t segments, double fan_weight);

  /// Adds a batch: p and affinity per user, the batch's profiles, segments (-1 = none; may be null).
  void add(const UserProfiles& batch, const double* p, const double* affinity, const int32_t* segment);

  size_t users() const { return users_; }
  AudienceEstimate audience(const CalibratedModel& model) const;
  /// Cohorts with at least `min_fans` fans, excluding `skip` titles, top `count` by lift (ties: more fans).
  std::vector<CohortLift> cohorts(size_t min_fans, size_t count, const std::vector<uint32_t>& skip) const;
  /// Expected viewers by local hour (each user's p spread over their daypart histogram).
  const std::array<double, 24>& daypart() const { return daypart_; }
  /// Per segment: shares, lift, mean affinity, and the emphasis tags of `tag_vector` (top `emphasis_tags`).
  std::vector<SegmentShare> segments(const std::vector<float>& tag_vector, size_t emphasis_tags) const;
  /// Users with events per title (actual audiences).
  const std::vector<uint32_t>& viewers() const { return viewers_; }

 private:
  size_t titles_, dim_, k_;
  double fan_weight_;
  size_t users_ = 0;
  double sum_p_ = 0, sum_var_ = 0;
  std::array<double, 24> daypart_{};
  std::vector<uint32_t> viewers_, fans_;
  std::vector<double> fan_p_;
  std::vector<size_t> seg_users_, seg_usable_;
  std::vector<double> seg_p_, seg_aff_, seg_sum_;  // seg_sum_: (k + 1) x dim, last row = all users
};

/// Most similar catalogue titles to `tag_vector` by tag cosine, excluding `skip`, with their viewers.
std::vector<ComparableTitle> comparable_titles(const TitleMatrix& tags, const std::vector<float>& tag_vector,
                                               size_t count, const std::vector<uint32_t>& viewers,
                                               const std::vector<uint32_t>& skip);

// ------------------------------------------------------------------------------------------------
// Evaluation
// ------------------------------------------------------------------------------------------------

/// Area under the ROC curve of `scores` at telling positives (labels 1) from negatives, by the
/// Mann-Whitney U statistic with tied scores given their average rank. NaN when either class is empty.
double auc_mann_whitney(const std::vector<double>& scores, const std::vector<uint8_t>& labels);

}  // namespace marquee
