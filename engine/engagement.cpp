#include "engine/engagement.h"

#include <algorithm>
#include <cmath>

namespace marquee {

std::optional<EventType> parse_event_type(std::string_view text) {
  if (text == "play") return EventType::Play;
  if (text == "pause") return EventType::Pause;
  if (text == "resume") return EventType::Resume;
  if (text == "seek") return EventType::Seek;
  if (text == "stop") return EventType::Stop;
  if (text == "complete") return EventType::Complete;
  return std::nullopt;
}

const char* event_type_name(EventType type) {
  switch (type) {
    case EventType::Play: return "play";
    case EventType::Pause: return "pause";
    case EventType::Resume: return "resume";
    case EventType::Seek: return "seek";
    case EventType::Stop: return "stop";
    case EventType::Complete: return "complete";
  }
  return "?";
}

Engagement EngagementModel::summarise(const Event* events, size_t count, double duration_s) const {
  Engagement e;
  if (count == 0 || duration_s <= 0) return e;
  e.first_ts = events[0].ts;
  e.last_ts = events[count - 1].ts;

  bool playing = false;
  bool stopped_early = false;  // the latest session ended before the end, not yet resumed
  bool ever_completed = false;
  double position = 0;         // where playback currently is
  double furthest = 0;
  int64_t since = events[0].ts;  // wall-clock time of `position`

  // Credits the playback between the previous event and `ev`, capped by wall-clock time so that an
  // unreported jump is not counted as watched.
  auto advance_to = [&](const Event& ev) {
    if (!playing) return;
    const double delta = double(ev.position_s) - position;
    const double wall = double(std::max<int64_t>(0, ev.ts - since)) * options_.max_playback_speed;
    if (delta > 0) {
      e.watched_s += std::min(delta, wall);
      // A jump further than playback could have gone is an unreported skip.
      if (delta > wall) {
        ++e.skips;
        e.skipped_s += delta - wall;
      }
    }
    furthest = std::max(furthest, double(ev.position_s));
  };
  auto start_session = [&]() {
    if (stopped_early) e.resumed_after_stop = true;
    stopped_early = false;
    playing = true;
  };

  for (size_t i = 0; i < count; ++i) {
    const Event& ev = events[i];
    switch (ev.type) {
      case EventType::Play:
        advance_to(ev);
        ++e.sessions;
        if (e.first_local_hour < 0) e.first_local_hour = ev.local_hour;
        if (ever_completed && ev.position_s <= 0.05 * duration_s) ++e.rewatches;
        start_session();
        break;
      case EventType::Resume:
        if (!playing) start_session();
        else advance_to(ev);
        break;
      case EventType::Pause:
        advance_to(ev);
        playing = false;
        ++e.pauses;
        break;
      case EventType::Seek:
        advance_to(ev);
        if (ev.seek_to_s > ev.position_s) {
          ++e.skips;
          e.skipped_s += double(ev.seek_to_s) - ev.position_s;
        } else if (ev.seek_to_s < ev.position_s) {
          ++e.rewinds;
        }
        break;
      case EventType::Stop:
        advance_to(ev);
        playing = false;
        if (std::min(furthest, duration_s) < options_.complete_fraction * duration_s) stopped_early = true;
        break;
      case EventType::Complete:
        advance_to(ev);
        playing = false;
        stopped_early = false;
        ever_completed = true;
        furthest = std::max(furthest, duration_s);
        break;
    }
    position = ev.type == EventType::Seek ? double(ev.seek_to_s) : double(ev.position_s);
    since = ev.ts;
  }

  e.furthest_fraction = std::clamp(furthest / duration_s, 0.0, 1.0);
  e.completed = ever_completed || e.furthest_fraction >= options_.complete_fraction;
  // A history that ends mid-session (no stop event) short of the end counts as stopped early too.
  if (playing && !e.completed) stopped_early = true;
  e.abandoned = stopped_early && !e.completed;
  if (e.first_local_hour < 0) e.first_local_hour = events[0].local_hour;
  e.weight = combine(e, duration_s);
  return e;
}

float EngagementModel::combine(const Engagement& e, double duration_s) const {
  const double progress = std::clamp(std::max(e.furthest_fraction, e.watched_s / duration_s), 0.0, 1.0);
  double base;
  if (e.completed) base = 0.8;
  else if (e.abandoned) base = 0.8 * progress - 0.5 * (1.0 - progress);
  else base = 0.8 * progress;
  const double bonus = 0.1 * std::min(1u, e.rewatches) + 0.05 * std::min(1.0, e.rewinds / 3.0) +
                       (e.resumed_after_stop ? 0.05 : 0.0);
  const double penalty = 0.5 * std::min(1.0, e.skipped_s / duration_s);
  return float(std::clamp(base + bonus - penalty, -1.0, 1.0));
}

float EngagementModel::recency(int64_t last_ts, int64_t as_of) const {
  if (options_.half_life_days <= 0) return 1.0f;
  const double age_days = std::max<double>(0.0, double(as_of - last_ts) / 86400.0);
  return float(std::exp2(-age_days / options_.half_life_days));
}

}  // namespace marquee
