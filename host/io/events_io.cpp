#include "host/io/events_io.h"

#include "engine/error.h"
#include "host/io/progress.h"
#include "host/io/record_reader.h"
#include "host/io/timestamp.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <limits>
#include <unordered_map>

namespace marquee {

namespace {
constexpr size_t kProgressEveryRows = 64 * 1024;  // how often the progress callback is asked
// Positions may overshoot the catalogue duration a little (credits, rounding, ads).
double position_limit(double duration_s) { return duration_s + std::max(60.0, 0.05 * duration_s); }
}  // namespace

EventTimeWindow event_time_window(int64_t as_of) {
  EventTimeWindow w;
  w.from_as_of = as_of != 0;
  w.reference = as_of != 0 ? as_of : int64_t(std::time(nullptr));
  w.earliest = kEarliestEventTime;
  w.latest = w.reference + kFutureToleranceS;
  return w;
}

std::string parse_event(const Catalog& catalog, const EventText& text, Event& event, const EventTimeWindow* window) {
  Timestamp ts;
  if (!parse_timestamp(text.ts, ts)) return "unparseable timestamp '" + text.ts + "'";
  if (window && ts.epoch > window->latest)
    return fmt::format("timestamp in the future '{}': later than {} ({} {} plus {} h){}", text.ts,
                       format_utc(window->latest), window->from_as_of ? "--as-of" : "the clock at the start of the run",
                       format_utc(window->reference), kFutureToleranceS / 3600,
                       window->from_as_of ? "" : "; replaying other times? set --as-of");
  if (window && ts.epoch < window->earliest)
    return fmt::format("timestamp too old '{}': before {} (the earliest accepted; a zero or default value?)", text.ts,
                       format_utc(window->earliest));
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

const std::vector<std::string>& event_columns() {
  static const std::vector<std::string> kColumns{"ts", "user_id", "title_id", "event", "position_s", "seek_to_s"};
  return kColumns;
}

LoadedEvents load_events(const std::string& path, const Catalog& catalog, RejectLog& rejects, int64_t as_of,
                         const TableLayout& layout) {
  const EventTimeWindow window = event_time_window(as_of);
  enum { kTs, kUser, kTitle, kEvent, kPosition, kSeekTo };
  const auto& columns = event_columns();
  RecordReader reader(path, {columns.begin(), columns.begin() + kSeekTo}, {columns[kSeekTo]}, layout);
  for (const auto& c : reader.ignored_columns()) spdlog::info("{}: ignoring column '{}'", path, c);
  if (reader.compression() != Compression::None)
    spdlog::debug("{}: {}-compressed", path, compression_name(reader.compression()));
  // Read progress in bytes of the file on disk (compressed bytes for a compressed file).
  Progress progress("reading " + path, "MB", double(reader.file_size()) / 1e6);

  LoadedEvents out;
  std::unordered_map<std::string, uint32_t> user_index;
  Record r;
  while (reader.next(r)) {
    ++out.rows;
    if (out.rows % kProgressEveryRows == 0)
      progress.update(double(reader.bytes_read()) / 1e6, fmt::format("{} rows", out.rows));
    auto reject = [&](const std::string& reason) { rejects.reject(path, r.line, reason, r.raw); };
    if (!r.error.empty()) {
      reject(r.error);
      continue;
    }
    Event ev;
    const std::string reason = parse_event(
        catalog, {r.fields[kTs], r.fields[kTitle], r.fields[kEvent], r.fields[kPosition], &r.fields[kSeekTo]}, ev,
        &window);
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
  progress.update(double(reader.bytes_read()) / 1e6);
  progress.finish(fmt::format("{} rows", out.rows));
  if (out.rows == 0) spdlog::warn("{} has no events", path);
  rejects.check_rate(path, out.rows);
  return out;
}

void reject_duplicates(const std::string& path, const std::vector<std::pair<uint32_t, uint32_t>>& duplicates,
                       RejectLog& rejects) {
  for (const auto& [line, twin] : duplicates)
    rejects.reject(path, line, fmt::format("duplicate event (same as line {})", twin), "");
  rejects.check_rate(path);
}

}  // namespace marquee
