// Synthetic data for `marquee gen`: a tag taxonomy, a catalogue and playback events that look like a
// real service's. Deterministic for a seed, and streaming: users are simulated one at a time and
// written as they are produced, so 10M users / 1B events never sit in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace marquee {

struct GenOptions {
  uint64_t users = 1000;
  uint32_t titles = 500;
  uint32_t tags = 200;
  uint64_t seed = 42;
  double mean_titles_per_user = 12;  // average distinct titles a user watches (log-normal activity)
  double discovery = 0;              // 0..1: share of a user's candidate draws from titles with a liked tag
  double daypart_effect = 0;         // 0..1: share of sessions at the title's own hour (0: the viewer's)
  uint32_t artwork_variants = 0;     // > 0: also OUT/artwork.csv with this many variants per title
  std::string out_dir;
};

struct GenStats {
  uint64_t users = 0, titles = 0, tags = 0, assignments = 0, events = 0;
};

/// Writes OUT/catalog/{tags,titles,title_tags}.csv and OUT/events.csv (and OUT/artwork.csv with
/// artwork_variants > 0, from its own random stream: the other files do not change). Creates directories.
/// `progress` (may be empty) is called every ~1M events with (users_done, events_done), and once at
/// the end. Throws ArgumentError for bad options, InputError when the output cannot be written.
GenStats generate_dataset(const GenOptions& options,
                          const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace marquee
