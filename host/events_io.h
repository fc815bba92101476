// Loads playback events (events.csv / .jsonl, docs/formats.md) into engine Events, mapping user ids
// to dense indices in order of first appearance. Every rejected row goes to the RejectLog.
#pragma once

#include "engine/catalog.h"
#include "engine/events.h"
#include "host/rejects.h"

#include <string>
#include <vector>

namespace marquee {

struct LoadedEvents {
  std::vector<Event> events;
  std::vector<std::string> user_ids;  // index -> id
  size_t rows = 0;                    // data rows read (accepted + rejected)
};

LoadedEvents load_events(const std::string& path, const Catalog& catalog, RejectLog& rejects);

/// Reports events that the profile builder dropped as exact duplicates, as rejected rows.
void reject_duplicates(const std::string& path, const std::vector<std::pair<uint32_t, uint32_t>>& duplicates,
                       RejectLog& rejects);

}  // namespace marquee
