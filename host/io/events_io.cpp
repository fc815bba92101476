#include "host/io/events_io.h"

#include "engine/error.h"
#include "host/io/record_reader.h"
#include "host/io/timestamp.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <unordered_map>

namespace marquee {

namespace {
// Positions may overshoot the catalogue duration a little (credits, rounding, ads).
double position_limit(double duration_s) { return duration_s + std::max(60.0, 0.05 * duration_s); }
}  // namespace

std::string parse_event(const Catalog& catalog, const EventText& text, Event& event) {
  Timestamp ts;
  if (!parse_timestamp(text.ts, ts)) return "unparseable timestamp '" + text.ts + "'";
  const auto title = catalog.find_title(text.title_id);
  if (!title) return "unknown title_id '" + text.title_id + "'";
  const auto type = parse_event_type(text.event);
  if (!type) return "unknown event type '" + text.event + "' (expected play, pause, resume, seek, stop, complete)";
  const double duration = catalog.title(*title).duration_s;
  const double limit = position_limit(duration);
  double position = 0;
  if (!parse_double(text.position_s, position) || position < 0)
    return "position_s must be a number >= 0; got '" + text.position_s + "'";
  if (position > limit)
    return fmt::format("impossible position '{}': beyond the title's duration of {} s", text.position_s, duration);
  double seek_to = 0;
  if (*type == EventType::Seek) {
    if (!text.seek_to_s || text.seek_to_s->empty()) return "seek event without seek_to_s";
    if (!parse_double(*text.seek_to_s, seek_to) || seek_to < 0 || seek_to > limit)
      return "impossible seek target '" + *text.seek_to_s + "'";
  }
  event = Event{};
  event.ts = ts.epoch;
  event.local_hour = uint8_t(ts.local_hour);
  event.title = *title;
  event.type = *type;
  event.position_s = float(position);
  event.seek_to_s = float(seek_to);
  return "";
}

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
    Event ev;
    const std::string reason = parse_event(
        catalog, {r.fields[kTs], r.fields[kTitle], r.fields[kEvent], r.fields[kPosition], &r.fields[kSeekTo]}, ev);
    if (!reason.empty()) {
      reject(reason);
      continue;
    }
    if (out.user_ids.size() >= std::numeric_limits<uint32_t>::max()) MARQUEE_THROW_AS(InputError, "{}: more than 2^32 users", path);
    auto [it, inserted] = user_index.try_emplace(r.fields[kUser], uint32_t(out.user_ids.size()));
    if (inserted) out.user_ids.push_back(r.fields[kUser]);

    ev.user = it->second;
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
