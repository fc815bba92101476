// Event timestamps: epoch seconds, or ISO-8601 with an optional UTC offset. The viewer's local hour
// is taken in the offset the timestamp was written with (epoch seconds and offset-less ISO times
// are UTC).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace marquee {

struct Timestamp {
  int64_t epoch = 0;  // seconds since 1970-01-01T00:00:00Z
  int local_hour = 0;  // 0..23
};

/// Parses "1767225600", "1767225600.25", "2026-01-01T09:30:00Z", "2026-01-01T09:30:00+05:30",
/// "2026-01-01 09:30:00.123-0800", "2026-01-01T09:30:00". Returns false when unparseable (another
/// layout, a time cut short, an offset beyond ±14:00 or with minutes >= 60, "+05") or out of range
/// (before 1970, after 2200). Plausibility against a reference time is the events reader's
/// (event_time_window, host/io/events_io.h).
bool parse_timestamp(std::string_view text, Timestamp& out);

/// "2026-12-01T21:16:14Z" for epoch seconds (manifests, logs).
std::string format_utc(int64_t epoch);

}  // namespace marquee
