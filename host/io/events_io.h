// Loads playback events (events.csv / .jsonl, docs/formats.md) into engine Events, mapping user ids
// to dense indices in order of first appearance. Every rejected row goes to the RejectLog.
#pragma once

#include "engine/catalog.h"
#include "engine/events.h"
#include "host/io/record_reader.h"
#include "host/io/rejects.h"

#include <string>
#include <string_view>
#include <vector>

namespace marquee {

struct LoadedEvents {
  std::vector<Event> events;
  std::vector<std::string> user_ids;  // index -> id
  size_t rows = 0;                    // data rows read (accepted + rejected)
};

/// One playback event as text: a row of events.csv/.jsonl or an item of POST /v1/events.
struct EventText {
  std::string_view ts;
  std::string_view title_id;
  std::string_view event;
  std::string_view position_s;
  std::string_view seek_to_s;  // empty: absent

  EventText(std::string_view ts, std::string_view title_id, std::string_view event, std::string_view position_s,
            std::string_view seek_to_s)
      : ts(ts), title_id(title_id), event(event), position_s(position_s), seek_to_s(seek_to_s) {}
  /// `seek_to_s` null or empty: absent.
  EventText(std::string_view ts, std::string_view title_id, std::string_view event, std::string_view position_s,
            const std::string* seek_to_s)
      : EventText(ts, title_id, event, position_s, seek_to_s ? std::string_view(*seek_to_s) : std::string_view()) {}
};

/// The times an event may carry (docs/formats.md, "Event times"): from kEarliestEventTime up to the
/// reference time (--as-of, else the clock at the start of the run) plus kFutureToleranceS. One
/// event from 2199 would otherwise become every user's "latest activity" and decay all the rest.
struct EventTimeWindow {
  int64_t earliest = 0;   // epoch seconds, inclusive
  int64_t latest = 0;     // epoch seconds, inclusive
  int64_t reference = 0;  // what `latest` was derived from
  bool from_as_of = false;
};
constexpr int64_t kEarliestEventTime = 946684800;  // 2000-01-01T00:00:00Z: before it, a zero or default value
constexpr int64_t kFutureToleranceS = 86400;       // clocks and time zones a day off are still believed

/// The window for reference time `as_of` (epoch seconds; 0: the system clock now).
EventTimeWindow event_time_window(int64_t as_of);

/// The last title id parse_event looked up and its index: rows come grouped by user and title (a
/// play, its pauses, its stop), so most rows of a file need no lookup in the catalogue.
struct TitleMemo {
  std::string id;
  uint32_t index = 0;
  bool valid = false;
};

/// The rules of docs/formats.md for one event (timestamp, known title, event type, position within
/// the title's duration, seek target): fills `event` (its user and line left 0) and returns "", or
/// returns the reason to reject it. Shared by the file reader and the server's online updates.
/// With a `window`, a timestamp outside it is rejected too; with a `memo` (one per thread and
/// catalogue), a title id equal to the last one found is not looked up again.
std::string parse_event(const Catalog& catalog, const EventText& text, Event& event,
                        const EventTimeWindow* window = nullptr, TitleMemo* memo = nullptr);

/// The columns of an events file (docs/formats.md): the names `--columns` maps.
const std::vector<std::string>& event_columns();
/// Their positions in event_columns(), and so in a Record read with them in that order (seek_to_s
/// last, the optional one).
enum EventField { kEventTs, kEventUser, kEventTitle, kEventType, kEventPosition, kEventSeekTo };

/// parse_event on a Record read in event_columns() order, or the reader's own error: "" or the
/// reason to reject the row (the single-threaded readers: spill pass, sampled reads).
std::string parse_event_record(const Catalog& catalog, const Record& r, Event& event,
                               const EventTimeWindow* window = nullptr);

/// How load_events spreads its work: defaults suit every caller; tests shrink the batches.
struct EventReadOptions {
  size_t batch_lines = 16 * 1024;  // lines parsed as one piece of work
  size_t threads = 0;              // parsing threads; 0: one per core; 1: all on the calling thread
};

/// Reads every event of `path` (plain, gzip or zstd; CSV, TSV or JSON Lines; columns named by
/// `layout`), rejecting bad rows (times outside event_time_window(as_of) included), then checks the
/// file's reject rate (RejectLog::check_rate). A long read shows progress lines (host/io/progress.h).
/// Lines are parsed on several threads (EventReadOptions); the result, rejects and their order are
/// those of a serial read.
LoadedEvents load_events(const std::string& path, const Catalog& catalog, RejectLog& rejects, int64_t as_of = 0,
                         const TableLayout& layout = {}, const EventReadOptions& read = {});

/// Reports events that the profile builder dropped as exact duplicates, as rejected rows, and checks
/// the file's reject rate again with them.
void reject_duplicates(const std::string& path, const std::vector<std::pair<uint32_t, uint32_t>>& duplicates,
                       RejectLog& rejects);

}  // namespace marquee
