#include "host/io/events_io.h"

#include "engine/error.h"
#include "engine/id_map.h"
#include "host/io/progress.h"
#include "host/io/record_reader.h"
#include "host/io/timestamp.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <deque>
#include <future>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <thread>

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

std::string parse_event(const Catalog& catalog, const EventText& text, Event& event, const EventTimeWindow* window,
                        TitleMemo* memo) {
  // A title not in the memo costs a cache miss in the catalogue's table, then one in its list of
  // titles: both are started early and met after other work.
  const bool remembered = memo && memo->valid && memo->id == text.title_id;
  const uint64_t title_hash = remembered ? 0 : hash_id(text.title_id);
  if (!remembered) catalog.title_ids().prefetch(title_hash);
  Timestamp ts;
  if (!parse_timestamp(text.ts, ts)) return fmt::format("unparseable timestamp '{}'", text.ts);
  if (window && ts.epoch > window->latest)
    return fmt::format("timestamp in the future '{}': later than {} ({} {} plus {} h){}", text.ts,
                       format_utc(window->latest), window->from_as_of ? "--as-of" : "the clock at the start of the run",
                       format_utc(window->reference), kFutureToleranceS / 3600,
                       window->from_as_of ? "" : "; replaying other times? set --as-of");
  if (window && ts.epoch < window->earliest)
    return fmt::format("timestamp too old '{}': before {} (the earliest accepted; a zero or default value?)", text.ts,
                       format_utc(window->earliest));
  std::optional<uint32_t> title =
      remembered ? std::optional<uint32_t>(memo->index) : catalog.title_ids().find(text.title_id, title_hash);
  if (!title) return fmt::format("unknown title_id '{}'", text.title_id);
  if (memo && !remembered) {
    memo->id.assign(text.title_id.data(), text.title_id.size());
    memo->index = *title;
    memo->valid = true;
  }
  const Title& title_row = catalog.title(*title);
  __builtin_prefetch(&title_row.duration_s);
  const auto type = parse_event_type(text.event);
  if (!type)
    return fmt::format("unknown event type '{}' (expected play, pause, resume, seek, stop, complete)", text.event);
  double position = 0;
  const bool position_ok = parse_double(text.position_s, position) && position >= 0;
  if (!position_ok) return fmt::format("position_s must be a number >= 0; got '{}'", text.position_s);
  const double duration = title_row.duration_s;
  const double limit = position_limit(duration);
  if (position > limit)
    return fmt::format("impossible position '{}': beyond the title's duration of {} s", text.position_s, duration);
  double seek_to = 0;
  if (*type == EventType::Seek) {
    if (text.seek_to_s.empty()) return "seek event without seek_to_s";
    if (!parse_double(text.seek_to_s, seek_to) || seek_to < 0 || seek_to > limit)
      return fmt::format("impossible seek target '{}'", text.seek_to_s);
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

std::string parse_event_record(const Catalog& catalog, const Record& r, Event& event, const EventTimeWindow* window) {
  if (!r.error.empty()) return r.error;
  return parse_event(catalog,
                     {r.fields[kEventTs], r.fields[kEventTitle], r.fields[kEventType], r.fields[kEventPosition],
                      &r.fields[kEventSeekTo]},
                     event, window);
}

namespace {

// A piece of work: lines read in file order, then what parsing them gave. Its events name users by
// batch-local index, so workers share no map; the merge gives the ids their global index in order
// of first appearance, as a serial read would. Batches are recycled: their buffers are reused for
// the next lines, so the reader allocates nothing per line and pages are not returned and faulted
// in again batch after batch.
struct Batch {
  std::string text;              // the lines, one after another, without their '\n'
  std::vector<size_t> ends;      // line k is text[ends[k-1], ends[k])
  std::vector<size_t> line_nos;  // its 1-based number in the file
  std::vector<Event> events;     // parsed: user = index into users
  IdMap users;                   // batch-local index -> id, in order of first appearance
  struct Rejected {
    size_t line;
    std::string reason;
    std::string raw;
  };
  std::vector<Rejected> rejected;  // in file order
  RecordView record;               // the parser's, kept for its buffers

  size_t lines() const { return ends.size(); }
  void clear() {
    text.clear();
    ends.clear();
    line_nos.clear();
    events.clear();
    users.clear();
    rejected.clear();
  }
};

void parse_batch(const RecordReader& reader, Batch& b, const Catalog& catalog, const EventTimeWindow& window) {
  RecordReader::Parser parser(reader);
  b.events.reserve(b.lines());
  RecordView& r = b.record;
  TitleMemo title_memo;
  std::string last_user;  // rows come grouped by user: most need no lookup
  uint32_t last_user_index = 0;
  size_t begin = 0;
  for (size_t k = 0; k < b.lines(); begin = b.ends[k++]) {
    parser.parse(std::string_view(b.text).substr(begin, b.ends[k] - begin), b.line_nos[k], r);
    if (!r.error.empty()) {
      b.rejected.push_back({r.line, std::move(r.error), std::string(r.raw)});
      continue;
    }
    Event ev;
    std::string reason = parse_event(catalog,
                                     {r.fields[kEventTs], r.fields[kEventTitle], r.fields[kEventType],
                                      r.fields[kEventPosition], r.fields[kEventSeekTo]},
                                     ev, &window, &title_memo);
    if (!reason.empty()) {
      b.rejected.push_back({r.line, std::move(reason), std::string(r.raw)});
      continue;
    }
    if (b.events.empty() || r.fields[kEventUser] != last_user) {
      last_user_index = b.users.insert(r.fields[kEventUser]).first;
      last_user.assign(r.fields[kEventUser].data(), r.fields[kEventUser].size());
    }
    ev.user = last_user_index;
    ev.line = uint32_t(std::min<size_t>(r.line, std::numeric_limits<uint32_t>::max()));
    b.events.push_back(ev);
  }
}
// Room for every event of a plain file, estimated from the first batch's bytes per line (5% spare):
// a vector grown by doubling writes about twice its final size into fresh pages, and first touches
// of memory are a large share of reading a file. Room that is not used is never touched. A valid
// row takes 13 bytes at least ("1,u,t,play,0\n"), which bounds a wild estimate.
void reserve_for_file(std::vector<Event>& events, const RecordReader& reader, const Batch& first) {
  if (reader.compression() != Compression::None || reader.file_size() == 0 || first.lines() == 0) return;
  const double bytes_per_line = std::max(13.0, double(first.text.size() + first.lines()) / double(first.lines()));
  try {
    events.reserve(size_t(1.05 * double(reader.file_size()) / bytes_per_line) + first.events.size());
  } catch (const std::bad_alloc&) {  // only a hint: grow as needed
  }
}
}  // namespace

LoadedEvents load_events(const std::string& path, const Catalog& catalog, RejectLog& rejects, int64_t as_of,
                         const TableLayout& layout, const EventReadOptions& read) {
  const EventTimeWindow window = event_time_window(as_of);
  const auto& columns = event_columns();
  RecordReader reader(path, {columns.begin(), columns.begin() + kEventSeekTo}, {columns[kEventSeekTo]}, layout);
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
  IdMap users;
  std::vector<uint32_t> to_global;
  std::vector<std::unique_ptr<Batch>> spare;
  auto merge = [&](std::unique_ptr<Batch> b) {
    for (auto& rj : b->rejected) rejects.reject(path, rj.line, rj.reason, rj.raw);
    const auto& ids = b->users.ids();
    to_global.resize(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      if (users.size() >= IdMap::kMaxIds && !users.find(ids[i]))
        MARQUEE_THROW_AS(InputError, "{}: more than 2^32 users", path);
      to_global[i] = users.insert(ids[i]).first;
    }
    for (Event& ev : b->events) ev.user = to_global[ev.user];
    if (out.events.capacity() == 0) reserve_for_file(out.events, reader, *b);
    out.events.insert(out.events.end(), b->events.begin(), b->events.end());
    out.rows += b->lines();
    progress.update(double(reader.bytes_read()) / 1e6, fmt::format("{} rows", out.rows));
    b->clear();
    spare.push_back(std::move(b));
  };

  std::deque<std::future<std::unique_ptr<Batch>>> pending;
  auto launch = [&](std::unique_ptr<Batch> batch) {
    if (threads == 1) {
      parse_batch(reader, *batch, catalog, window);
      merge(std::move(batch));
      return;
    }
    pending.push_back(std::async(
        std::launch::async,
        [&reader, &catalog, &window](std::unique_ptr<Batch> b) {
          parse_batch(reader, *b, catalog, window);
          return b;
        },
        std::move(batch)));
    while (pending.size() >= max_in_flight) {
      merge(pending.front().get());
      pending.pop_front();
    }
  };
  auto fresh = [&] {
    if (spare.empty()) return std::make_unique<Batch>();
    auto b = std::move(spare.back());
    spare.pop_back();
    return b;
  };
  // A read error (a corrupt compressed stream) is raised after the rows before it are merged, as a
  // serial read would; an error of the merge itself (--strict) propagates at once.
  std::exception_ptr read_error;
  std::unique_ptr<Batch> batch = fresh();
  size_t line_no = 0;
  for (;;) {
    try {
      if (!reader.append_line(batch->text, line_no)) break;
    } catch (...) {
      read_error = std::current_exception();
      break;
    }
    batch->ends.push_back(batch->text.size());
    batch->line_nos.push_back(line_no);
    if (batch->lines() == batch_lines) {
      launch(std::move(batch));
      batch = fresh();
    }
  }
  if (batch->lines() > 0) launch(std::move(batch));
  for (; !pending.empty(); pending.pop_front()) merge(pending.front().get());
  if (read_error) std::rethrow_exception(read_error);
  out.user_ids = users.release();

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
