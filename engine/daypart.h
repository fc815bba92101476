// Time-of-day-aware ranking (docs/quality.md, "Daypart re-ranking"). Every title gets a daypart
// profile from its viewers' play events (local hour of each play), smoothed and shrunk towards the
// catalogue's own profile, and turned into a per-hour log-lift:
//     bias(t, h) = ln(share_t(h) / share_all(h))
// At hour H a model's score becomes  score(u, t) + weight * bias(t, H). The weight is not hand-set:
// `fit_daypart` holds out each user's last title (with the hour they started it), and picks the
// weight that hits held-out titles most often on half of the held-out users — kept only when the
// gain is significant (McNemar test), so data where the hour does not matter gets weight 0 and
// unchanged rankings. The other half reports the gain honestly.
#pragma once

#include "engine/catalog.h"
#include "engine/events.h"
#include "engine/recommender.h"
#include "engine/scorer.h"
#include "engine/title_matrix.h"

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace marquee {

/// Play events per (title, local hour).
struct TitleDayparts {
  size_t titles = 0;
  std::vector<uint32_t> plays;  // titles x 24

  const uint32_t* hours(uint32_t title) const { return plays.data() + size_t(title) * 24; }
};

/// Counts the Play events of `events` by title and local hour.
TitleDayparts count_title_dayparts(const std::vector<Event>& events, size_t titles);

struct DaypartTerm {
  /// Pseudo-plays of the catalogue profile mixed into every title's (titles with few plays say little).
  double prior_plays = 20;
};

/// The per-hour log-lift of every title (titles x 24): plays smoothed over neighbouring hours
/// (1/4, 1/2, 1/4, circularly), shrunk with `prior_plays` pseudo-plays of the catalogue profile.
/// A title without plays gets 0 at every hour.
std::vector<float> daypart_bias(const TitleDayparts& dayparts, const DaypartTerm& term);

/// Parses an hour of day: an integer 0..23. Throws ArgumentError otherwise.
int parse_hour(const std::string& text);

/// A fitted daypart model: what `score --hour` and `serve ?hour=` apply.
struct DaypartModel {
  ModelKind model = ModelKind::Tags;  // the score scale the weight was fitted on ...
  AlsOptions als;                     // ... with these ALS options (behaviour, hybrid),
  HybridWeights weights;              // these hybrid weights (hybrid)
  double half_life_days = 0;          // and this engagement recency half-life
  double weight = 0;
  DaypartTerm term;
  TitleDayparts dayparts;
  std::vector<float> bias;            // titles x 24 (daypart_bias of dayparts)

  /// The term of every title at `hour` (weight x bias).
  std::vector<float> terms_at(int hour) const;
};

/// Applying the term with any Scorer, exactly and in one search: the model's title matrix gets one
/// extra column per hour of `hours`, holding weight x bias(t, hour); a user row gets a one-hot over
/// those columns (with_hour_columns), so its inner product is score(u, t) + term(t, hour). One
/// column for `score --hour`; 24 for the server (one matrix for every hour).
TitleMatrix with_daypart_columns(const TitleMatrix& titles, const DaypartModel& model, const std::vector<int>& hours);

/// n user rows of `dim` floats, each followed by `columns` values: 1 at `hot`, 0 elsewhere (hot < 0: all 0).
std::vector<float> with_hour_columns(const float* users, size_t n, size_t dim, size_t columns, int hot);

struct DaypartFitOptions {
  DaypartTerm term;
  size_t k = 10;                 // hit rate @ k
  size_t max_users = 40000;      // held-out users used (evenly strided), half to fit, half to report
  double min_z = 3.0;            // McNemar z needed to keep a non-zero weight (~ Bonferroni over the grid)
  std::vector<double> weights;   // candidate weights (in units of the base scores' spread); empty = default grid
  /// Progress: (users ranked so far, users to rank), after each batch of held-out users.
  std::function<void(size_t done, size_t total)> on_users;
};

struct DaypartFitReport {
  double weight = 0;             // chosen (0 when not significant)
  double spread = 0;             // the base scores' spread the grid was scaled by
  double best_z = 0;             // the largest McNemar z of any weight against none, on the fit half
  double test_z = 0;             // McNemar z of the chosen weight against none, on the report half
  size_t fit_users = 0, test_users = 0;
  size_t fit_hits_without = 0, fit_hits_with = 0;
  size_t test_hits_without = 0, test_hits_with = 0;
  std::array<size_t, 24> test_users_by_hour{}, test_hits_without_by_hour{}, test_hits_with_by_hour{};
  struct GridPoint {
    double weight = 0;
    size_t hits = 0;
    double z = 0;
  };
  std::vector<GridPoint> grid;   // fit half
};

/// What fit_daypart needs from the host: the base model's scorer and user vectors for profiles
/// built from the training events (so that any backend and any model kind can be fitted).
struct DaypartBaseModel {
  std::unique_ptr<Scorer> scorer;
  std::vector<float> user_vectors;  // users x scorer->dim()
  Exclusions seen;                  // training history per user
};
using DaypartBaseBuilder = std::function<DaypartBaseModel(const std::vector<Event>& train_events)>;

/// Fits the weight of the daypart term on held-out events (see the header comment). `users` is the
/// number of users the events index.
DaypartModel fit_daypart(const std::vector<Event>& events, size_t users, size_t titles, ModelKind model,
                         const DaypartBaseBuilder& base, const DaypartFitOptions& options, DaypartFitReport* report);

}  // namespace marquee
