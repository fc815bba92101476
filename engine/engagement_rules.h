// The engagement rules (docs/engagement.md) as inline functions that compile for the host and the
// device: the per-(user, title) state machine, the weight formula and recency decay. The CPU model
// (EngagementModel, engine/engagement.cpp) and the GPU profile builder (kernels/profile_kernels.cu)
// both call these, so there is one definition of engagement for every backend.
//
// Only plain structs and arithmetic: no std::min/max/clamp (not device functions), no exceptions.
// The small helpers below keep std::min/max/clamp's exact semantics, so the CPU results are the
// same as before the rules moved here.
#pragma once

#include "engine/engagement.h"
#include "engine/events.h"
#include "engine/hd.h"

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace marquee::rules {

// std::min(a, b) == (b < a) ? b : a; std::max(a, b) == (a < b) ? b : a;
// std::clamp(v, lo, hi) == v < lo ? lo : hi < v ? hi : v.
template <typename T>
MARQUEE_HD inline T min_of(T a, T b) {
  return b < a ? b : a;
}
template <typename T>
MARQUEE_HD inline T max_of(T a, T b) {
  return a < b ? b : a;
}
template <typename T>
MARQUEE_HD inline T clamp_to(T v, T lo, T hi) {
  return v < lo ? lo : (hi < v ? hi : v);
}

/// Running state of one (user, title) history: fed its events in time order with engagement_step,
/// then closed with engagement_finish. Lets the GPU stream events out of columnar arrays without
/// materialising an Event array per segment.
struct EngagementState {
  Engagement e;
  bool playing = false;
  bool stopped_early = false;  // the latest session ended before the end, not yet resumed
  bool ever_completed = false;
  double position = 0;         // where playback currently is
  double furthest = 0;
  int64_t since = 0;           // wall-clock time of `position`
  uint8_t first_event_hour = 0;
};

/// Starts a history at its first (earliest) event.
MARQUEE_HD inline void engagement_start(EngagementState& s, const Event& first) {
  s = EngagementState{};
  s.e.first_ts = first.ts;
  s.e.last_ts = first.ts;
  s.since = first.ts;
  s.first_event_hour = first.local_hour;
}

namespace detail {
// Credits the playback between the previous event and `ev`, capped by wall-clock time so that an
// unreported jump is not counted as watched.
MARQUEE_HD inline void advance_to(EngagementState& s, const Event& ev, const EngagementOptions& o) {
  if (!s.playing) return;
  const double delta = double(ev.position_s) - s.position;
  const double wall = double(max_of<int64_t>(0, ev.ts - s.since)) * o.max_playback_speed;
  if (delta > 0) {
    s.e.watched_s += min_of(delta, wall);
    // A jump further than playback could have gone is an unreported skip.
    if (delta > wall) {
      ++s.e.skips;
      s.e.skipped_s += delta - wall;
    }
  }
  s.furthest = max_of(s.furthest, double(ev.position_s));
}

MARQUEE_HD inline void start_session(EngagementState& s) {
  if (s.stopped_early) s.e.resumed_after_stop = true;
  s.stopped_early = false;
  s.playing = true;
}
}  // namespace detail

/// Feeds the next event (not earlier than the previous one). `duration_s` > 0.
MARQUEE_HD inline void engagement_step(EngagementState& s, const Event& ev, double duration_s,
                                       const EngagementOptions& o) {
  Engagement& e = s.e;
  switch (ev.type) {
    case EventType::Play:
      detail::advance_to(s, ev, o);
      ++e.sessions;
      if (e.first_local_hour < 0) e.first_local_hour = ev.local_hour;
      if (s.ever_completed && ev.position_s <= 0.05 * duration_s) ++e.rewatches;
      detail::start_session(s);
      break;
    case EventType::Resume:
      if (!s.playing) detail::start_session(s);
      else detail::advance_to(s, ev, o);
      break;
    case EventType::Pause:
      detail::advance_to(s, ev, o);
      s.playing = false;
      ++e.pauses;
      break;
    case EventType::Seek:
      detail::advance_to(s, ev, o);
      if (ev.seek_to_s > ev.position_s) {
        ++e.skips;
        e.skipped_s += double(ev.seek_to_s) - ev.position_s;
      } else if (ev.seek_to_s < ev.position_s) {
        ++e.rewinds;
      }
      break;
    case EventType::Stop:
      detail::advance_to(s, ev, o);
      s.playing = false;
      if (min_of(s.furthest, duration_s) < o.complete_fraction * duration_s) s.stopped_early = true;
      break;
    case EventType::Complete:
      detail::advance_to(s, ev, o);
      s.playing = false;
      s.stopped_early = false;
      s.ever_completed = true;
      s.furthest = max_of(s.furthest, duration_s);
      break;
  }
  s.position = ev.type == EventType::Seek ? double(ev.seek_to_s) : double(ev.position_s);
  s.since = ev.ts;
  e.last_ts = ev.ts;
}

/// Combines the features into a weight in [-1, 1] (docs/engagement.md).
MARQUEE_HD inline float combine(const Engagement& e, double duration_s) {
  const double progress = clamp_to(max_of(e.furthest_fraction, e.watched_s / duration_s), 0.0, 1.0);
  double base;
  if (e.completed) base = 0.8;
  else if (e.abandoned) base = 0.8 * progress - 0.5 * (1.0 - progress);
  else base = 0.8 * progress;
  const double bonus = 0.1 * min_of(1u, e.rewatches) + 0.05 * min_of(1.0, e.rewinds / 3.0) +
                       (e.resumed_after_stop ? 0.05 : 0.0);
  const double penalty = 0.5 * min_of(1.0, e.skipped_s / duration_s);
  return float(clamp_to(base + bonus - penalty, -1.0, 1.0));
}

/// Closes the history: completion and abandonment verdicts, and the weight (before recency).
MARQUEE_HD inline Engagement engagement_finish(EngagementState& s, double duration_s, const EngagementOptions& o) {
  Engagement& e = s.e;
  e.furthest_fraction = clamp_to(s.furthest / duration_s, 0.0, 1.0);
  e.completed = s.ever_completed || e.furthest_fraction >= o.complete_fraction;
  // A history that ends mid-session (no stop event) short of the end counts as stopped early too.
  if (s.playing && !e.completed) s.stopped_early = true;
  e.abandoned = s.stopped_early && !e.completed;
  if (e.first_local_hour < 0) e.first_local_hour = s.first_event_hour;
  e.weight = combine(e, duration_s);
  return e;
}

/// Summarises the events of one (user, title), sorted by ts. Nothing (all zero) when there are no
/// events or the duration is not positive.
MARQUEE_HD inline Engagement summarise(const Event* events, size_t count, double duration_s,
                                       const EngagementOptions& o) {
  if (count == 0 || duration_s <= 0) return Engagement{};
  EngagementState s;
  engagement_start(s, events[0]);
  for (size_t i = 0; i < count; ++i) engagement_step(s, events[i], duration_s, o);
  return engagement_finish(s, duration_s, o);
}

/// Recency factor 0.5^(age_days / half_life) for an interaction last seen at `last_ts`; 1 when
/// decay is off.
MARQUEE_HD inline float recency(int64_t last_ts, int64_t as_of, const EngagementOptions& o) {
  if (o.half_life_days <= 0) return 1.0f;
  const double age_days = max_of(0.0, double(as_of - last_ts) / 86400.0);
  return float(::exp2(-age_days / o.half_life_days));
}

}  // namespace marquee::rules
