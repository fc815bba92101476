#include "engine/engagement.h"

#include "engine/engagement_rules.h"

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

// The rules themselves live in engine/engagement_rules.h, shared with the GPU profile builder.
Engagement EngagementModel::summarise(const Event* events, size_t count, double duration_s) const {
  return rules::summarise(events, count, duration_s, options_);
}

float EngagementModel::combine(const Engagement& e, double duration_s) const { return rules::combine(e, duration_s); }

float EngagementModel::recency(int64_t last_ts, int64_t as_of) const { return rules::recency(last_ts, as_of, options_); }

}  // namespace marquee
