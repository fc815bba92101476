// Loads playback events (events.csv / .jsonl, docs/formats.md) into engine Events, mapping user ids
// to dense indices in order of first appearance. Every rejected row goes to the RejectLog.
#pragma once

#include "engine/catalog.h"
#include "engine/events.h"
#include "host/io/rejects.h"

#include <string>
#include <vector>

namespace marquee {

struct LoadedEvents {
  std::vector<Event> events;
  std::vector<std::string> user_ids;  // index -> id
  size_t rows = 0;                    // data rows read (accepted + rejected)
};

/// One playback event as text: a row of events.csv/.jsonl or an item of POST /v1/events.
struct EventText {
  const std::string& ts;
  const std::string& title_id;
  const std::string& event;
  const std::string& position_s;
  const std::string* seek_to_s;  // null or empty: absent
};

/// The rules of docs/formats.md for one event (timestamp, known title, event type, position within
/// the title's duration, seek target): fills `event` (its user and line left 0) and returns "", or
/// returns the reason to reject it. Shared by the file reader and the server's online updates.
std::string parse_event(const Catalog& catalog, const EventText& text, Event& event);

LoadedEvents load_events(const std::string& path, const Catalog& catalog, RejectLog& rejects);

/// Reports events that the profile builder dropped as exact duplicates, as rejected rows.
void reject_duplicates(const std::string& path, const std::vector<std::pair<uint32_t, uint32_t>>& duplicates,
                       RejectLog& rejects);

}  // namespace marquee
