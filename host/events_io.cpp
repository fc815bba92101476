#include "host/events_io.h"

#include "engine/error.h"
#include "host/record_reader.h"
#include "host/timestamp.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <unordered_map>

namespace marquee {

namespace {
// Positions may overshoot the catalogue duration a little (credits, rounding, ads).
double position_limit(double duration_s) { return duration_s + std::max(60.0, 0.05 * duration_s); }
}  // namespace

LoadedEvents load_events(const std::string& path, const Catalog& catalog, RejectLog& rejects) {
  enum { kTs, kUser, kTitle, kEvent, kPosition, kSeekTo };
  RecordReader reader(path, {"ts", "user_id", "title_id", "event", "position_s"}, {"seek_to_s"});
  for (const auto& c : reader.ignored_columns()) spdlog::info("{}: ignoring column '{}'", path, c);

  LoadedEvents out;
  std::unordered_map<std::string, uint32_t> user_index;
  Record r;
  while (reader.next(r)) {
    ++out.rows;
    auto reject = [&](const std::string& reason) { rejects.reject(path, r.line, reason, r.raw); };
    if (!r.error.empty()) {
      reject(r.error);
      continue;
    }
    Timestamp ts;
    if (!parse_timestamp(r.fields[kTs], ts)) {
      reject("unparseable timestamp '" + r.fields[kTs] + "'");
      continue;
    }
    const auto title = catalog.find_title(r.fields[kTitle]);
    if (!title) {
      reject("unknown title_id '" + r.fields[kTitle] + "'");
      continue;
    }
    const auto type = parse_event_type(r.fields[kEvent]);
    if (!type) {
      reject("unknown event type '" + r.fields[kEvent] + "' (expected play, pause, resume, seek, stop, complete)");
      continue;
    }
    const double limit = position_limit(catalog.title(*title).duration_s);
    double position = 0;
    if (!parse_double(r.fields[kPosition], position) || position < 0) {
      reject("position_s must be a number >= 0; got '" + r.fields[kPosition] + "'");
      continue;
    }
    if (position > limit) {
      reject(fmt::format("impossible position '{}': beyond the title's duration of {} s", r.fields[kPosition],
                         catalog.title(*title).duration_s));
      continue;
    }
    double seek_to = 0;
    if (*type == EventType::Seek) {
      if (!r.present[kSeekTo]) {
        reject("seek event without seek_to_s");
        continue;
      }
      if (!parse_double(r.fields[kSeekTo], seek_to) || seek_to < 0 || seek_to > limit) {
        reject("impossible seek target '" + r.fields[kSeekTo] + "'");
        continue;
      }
    }
    if (out.user_ids.size() >= std::numeric_limits<uint32_t>::max()) MARQUEE_THROW_AS(InputError, "{}: more than 2^32 users", path);
    auto [it, inserted] = user_index.try_emplace(r.fields[kUser], uint32_t(out.user_ids.size()));
    if (inserted) out.user_ids.push_back(r.fields[kUser]);

    Event ev;
    ev.ts = ts.epoch;
    ev.local_hour = uint8_t(ts.local_hour);
    ev.user = it->second;
    ev.title = *title;
    ev.type = *type;
    ev.position_s = float(position);
    ev.seek_to_s = float(seek_to);
    ev.line = uint32_t(std::min<size_t>(r.line, std::numeric_limits<uint32_t>::max()));
    out.events.push_back(ev);
  }
  if (out.rows == 0) spdlog::warn("{} has no events", path);
  return out;
}

void reject_duplicates(const std::string& path, const std::vector<std::pair<uint32_t, uint32_t>>& duplicates,
                       RejectLog& rejects) {
  for (const auto& [line, twin] : duplicates)
    rejects.reject(path, line, fmt::format("duplicate event (same as line {})", twin), "");
}

}  // namespace marquee
