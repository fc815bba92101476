// Playback events as the engine sees them: ids already mapped to dense indices, timestamps in
// epoch seconds with the viewer's local hour kept alongside.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace marquee {

enum class EventType : uint8_t { Play, Pause, Resume, Seek, Stop, Complete };

/// "play", "pause", "resume", "seek", "stop", "complete" (case-sensitive, as written by players).
std::optional<EventType> parse_event_type(std::string_view text);
const char* event_type_name(EventType type);

struct Event {
  int64_t ts = 0;          // epoch seconds, UTC
  uint32_t user = 0;       // dense user index
  uint32_t title = 0;      // dense title index (catalogue order)
  float position_s = 0;    // playback position when the event happened
  float seek_to_s = 0;     // seek target (Seek only): forward = skip, backward = rewind
  uint32_t line = 0;       // source line, for reporting (0 when not from a file)
  EventType type = EventType::Play;
  uint8_t local_hour = 0;  // 0..23 in the UTC offset the timestamp was written with
};

}  // namespace marquee
