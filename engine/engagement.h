// The engagement model: how a viewer's playback events for one title become one weight in [-1, 1].
// Formula and rationale: docs/engagement.md. Kept in one place so that CPU and GPU profile builders
// (and the docs) agree on a single definition: the rules are host/device inline functions in
// engine/engagement_rules.h; EngagementModel is the CPU's front end to them.
#pragma once

#include "engine/events.h"

#include <cstdint>
#include <vector>

namespace marquee {

struct EngagementOptions {
  /// Fraction of the duration after which a title counts as completed (credits are often skipped).
  double complete_fraction = 0.9;
  /// Recency half-life in days; 0 disables decay.
  double half_life_days = 0;
  /// Reference time for recency (epoch seconds); 0 = the latest event in the data.
  int64_t as_of = 0;
  /// Position may advance at most this many seconds per wall-clock second (playback speed); larger
  /// jumps without a seek event are not counted as watched time.
  double max_playback_speed = 2.0;
};

/// Features of one viewer's history with one title (all their sessions together).
struct Engagement {
  double watched_s = 0;          // seconds actually played (seeks excluded)
  double furthest_fraction = 0;  // furthest position reached while playing / duration, in [0, 1]
  double skipped_s = 0;          // seconds jumped over by forward seeks
  uint32_t sessions = 0;         // play events (each starts a viewing session)
  uint32_t pauses = 0;
  uint32_t rewinds = 0;          // backward seeks
  uint32_t skips = 0;            // forward seeks
  uint32_t rewatches = 0;        // plays from near the start after a completion
  bool completed = false;        // complete event, or furthest_fraction >= complete_fraction
  bool abandoned = false;        // stopped early and never resumed
  bool resumed_after_stop = false;
  int64_t first_ts = 0;
  int64_t last_ts = 0;
  int first_local_hour = -1;     // local hour of the first session start
  float weight = 0;              // combined engagement weight in [-1, 1], before recency decay
};

class EngagementModel {
 public:
  explicit EngagementModel(EngagementOptions options = {}) : options_(options) {}

  /// Summarises the events of one (user, title), which must be sorted by ts. `duration_s` > 0.
  Engagement summarise(const Event* events, size_t count, double duration_s) const;

  /// Combines the features into a weight in [-1, 1] (docs/engagement.md).
  float combine(const Engagement& e, double duration_s) const;

  /// Recency factor 0.5^(age_days / half_life) for an interaction last seen at `last_ts`.
  float recency(int64_t last_ts, int64_t as_of) const;

  const EngagementOptions& options() const { return options_; }

 private:
  EngagementOptions options_;
};

}  // namespace marquee
