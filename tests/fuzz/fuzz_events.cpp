// The events reader (host/io/events_io.h) and the profile build behind it (engine/engagement,
// engine/profiles), on a fixed catalogue: the fuzz input is the whole events file. Built twice:
// fuzz_events_csv (events.csv) and fuzz_events_jsonl (events.jsonl), by MARQUEE_FUZZ_EVENTS_NAME.
#include "fuzz_common.h"

#include "host/io/events_io.h"

using namespace marquee;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::FuzzData& d = fuzz::fuzz_data();
  const std::string path = fuzz::scratch_file(MARQUEE_FUZZ_EVENTS_NAME, data, size);
  // Non-strict, with a reject-rate limit: every row is read, and the rate check runs too.
  RejectLog rejects("", false, 0.9);
  fuzz::expected([&] {
    EngagementOptions eo;
    eo.as_of = fuzz::kAsOf;
    eo.half_life_days = size % 2 ? 30 : 0;  // recency decay on for half the inputs
    size_t rows = 0;
    ProfileBuildStats stats;
    UserProfiles p = build_profiles_from_file(d.cat, d.titles, path, eo, rejects, &rows, &stats);
    if (p.seen_offsets.size() != p.size() + 1 || p.vectors.size() != p.size() * p.dim) __builtin_trap();
  });
  // The reader alone, with the system clock as the reference time (the CLI's default).
  RejectLog rejects2("", false);
  fuzz::expected([&] { load_events(path, d.cat, rejects2, 0); });
  return 0;
}
