#include "engine/engagement.h"

#include "engine/engagement_rules.h"
#include "engine/enum_names.h"

namespace marquee {

namespace {
constexpr EnumName<EventType> kEventNames[] = {{EventType::Play, "play"},     {EventType::Pause, "pause"},
                                               {EventType::Resume, "resume"}, {EventType::Seek, "seek"},
                                               {EventType::Stop, "stop"},     {EventType::Complete, "complete"}};
}  // namespace

std::optional<EventType> parse_event_type(std::string_view text) { return find_enum(kEventNames, text); }
const char* event_type_name(EventType type) { return enum_name(kEventNames, type); }

// The rules themselves live in engine/engagement_rules.h, shared with the GPU profile builder.
Engagement EngagementModel::summarise(const Event* events, size_t count, double duration_s) const {
  return rules::summarise(events, count, duration_s, options_);
}

float EngagementModel::combine(const Engagement& e, double duration_s) const { return rules::combine(e, duration_s); }

float EngagementModel::recency(int64_t last_ts, int64_t as_of) const { return rules::recency(last_ts, as_of, options_); }

}  // namespace marquee
