#include "host/io/events_io.h"

#include "engine/error.h"
#include "host/io/progress.h"
#include "host/io/record_reader.h"
#include "host/io/timestamp.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <deque>
#include <future>
#include <thread>
#include <limits>
#include <unordered_map>

namespace marquee {

namespace {
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

namespace {
enum { kTs, kUser, kTitle, kEvent, kPosition, kSeekTo };

// Lines read in file order, handed to a worker as one piece.
struct LineBatch {
  std::vector<std::string> lines;
  std::vector<size_t> line_nos;
};

// A batch parsed: its events name users by batch-local index, so workers share no map; the merge
// gives the ids their global index in order of first appearance, as a serial read would.
struct ParsedBatch {
  std::vector<Event> events;
  std::vector<std::string> users;  // batch-local index -> id, in order of first appearance
  struct Rejected {
    size_t line;
    std::string reason;
    std::string raw;
  };
  std::vector<Rejected> rejected;  // in file order
  size_t rows = 0;
};

ParsedBatch parse_batch(const RecordReader& reader, LineBatch batch, const Catalog& catalog,
                        const EventTimeWindow& window) {
  RecordReader::Parser parser(reader);
  ParsedBatch out;
  out.rows = batch.lines.size();
  out.events.reserve(batch.lines.size());
  std::unordered_map<std::string, uint32_t> local;
  Record r;
  for (size_t k = 0; k < batch.lines.size(); ++k) {
    parser.parse(std::move(batch.lines[k]), batch.line_nos[k], r);
    if (!r.error.empty()) {
      out.rejected.push_back({r.line, std::move(r.error), std::move(r.raw)});
      continue;
    }
    Event ev;
    std::string reason = parse_event(
        catalog, {r.fields[kTs], r.fields[kTitle], r.fields[kEvent], r.fields[kPosition], &r.fields[kSeekTo]}, ev,
        &window);
    if (!reason.empty()) {
      out.rejected.push_back({r.line, std::move(reason), std::move(r.raw)});
      continue;
    }
    auto [it, inserted] = local.try_emplace(r.fields[kUser], uint32_t(out.users.size()));
    if (inserted) out.users.push_back(r.fields[kUser]);
    ev.user = it->second;
    ev.line = uint32_t(std::min<size_t>(r.line, std::numeric_limits<uint32_t>::max()));
    out.events.push_back(ev);
  }
  return out;
}
}  // namespace

LoadedEvents load_events(const std::string& path, const Catalog& catalog, RejectLog& rejects, int64_t as_of,
                         const TableLayout& layout, const EventReadOptions& read) {
  const EventTimeWindow window = event_time_window(as_of);
  const auto& columns = event_columns();
  RecordReader reader(path, {columns.begin(), columns.begin() + kSeekTo}, {columns[kSeekTo]}, layout);
  for (const auto& c : reader.ignored_columns()) spdlog::info("{}: ignoring column '{}'", path, c);
  if (reader.compression() != Compression::None)
    spdlog::debug("{}: {}-compressed", path, compression_name(reader.compression()));
  // Read progress in bytes of the file on disk (compressed bytes for a compressed file).
  Progress progress("reading " + path, "MB", double(reader.file_size()) / 1e6);

  // This thread reads (and decompresses) lines; batches of them are parsed on other threads and
  // merged here in file order, so rejects, user indices and events come out as a serial read's.
  const size_t threads = read.threads ? read.threads : std::max(1u, std::thread::hardware_concurrency());
  const size_t batch_lines = std::max<size_t>(read.batch_lines, 1);
  const size_t max_in_flight = 2 * threads;  // bounds memory: this many batches of lines at most

  LoadedEvents out;
  std::unordered_map<std::string, uint32_t> user_index;
  std::vector<uint32_t> to_global;
  auto merge = [&](ParsedBatch b) {
    for (auto& rj : b.rejected) rejects.reject(path, rj.line, rj.reason, rj.raw);
    to_global.resize(b.users.size());
    for (size_t i = 0; i < b.users.size(); ++i) {
      auto [it, inserted] = user_index.try_emplace(b.users[i], uint32_t(out.user_ids.size()));
      if (inserted) {
        if (out.user_ids.size() >= std::numeric_limits<uint32_t>::max())
          MARQUEE_THROW_AS(InputError, "{}: more than 2^32 users", path);
        out.user_ids.push_back(std::move(b.users[i]));
      }
      to_global[i] = it->second;
    }
    for (Event& ev : b.events) ev.user = to_global[ev.user];
    if (out.events.empty()) out.events = std::move(b.events);
    else out.events.insert(out.events.end(), b.events.begin(), b.events.end());
    out.rows += b.rows;
    progress.update(double(reader.bytes_read()) / 1e6, fmt::format("{} rows", out.rows));
  };

  std::deque<std::future<ParsedBatch>> pending;
  auto launch = [&](LineBatch batch) {
    if (threads == 1) {
      merge(parse_batch(reader, std::move(batch), catalog, window));
      return;
    }
    pending.push_back(std::async(std::launch::async, parse_batch, std::cref(reader), std::move(batch),
                                 std::cref(catalog), std::cref(window)));
    while (pending.size() >= max_in_flight) {
      merge(pending.front().get());
      pending.pop_front();
    }
  };
  // A read error (a corrupt compressed stream) is raised after the rows before it are merged, as a
  // serial read would; an error of the merge itself (--strict) propagates at once.
  std::exception_ptr read_error;
  LineBatch batch;
  std::string line;
  size_t line_no = 0;
  for (;;) {
    try {
      if (!reader.next_line(line, line_no)) break;
    } catch (...) {
      read_error = std::current_exception();
      break;
    }
    batch.lines.push_back(std::move(line));
    batch.line_nos.push_back(line_no);
    if (batch.lines.size() == batch_lines) launch(std::exchange(batch, {}));
  }
  if (!batch.lines.empty()) launch(std::move(batch));
  for (; !pending.empty(); pending.pop_front()) merge(pending.front().get());
  if (read_error) std::rethrow_exception(read_error);

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
