// Profiles in bounded memory (`--memory-budget`, docs/scale.md): external partitioning of the
// events by a hash of the user id into spill files in one streaming pass, each partition profiled
// with the in-memory builder (engine/profiles), and the partitions merged back into one profiles
// file in the order of the in-memory build (users by first appearance in the events file), so the
// file is byte-identical to `marquee profile` without a budget.
#pragma once

#include "engine/catalog.h"
#include "engine/engagement.h"
#include "engine/profiles.h"
#include "engine/title_matrix.h"
#include "host/io/record_reader.h"
#include "host/io/rejects.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace marquee {

/// The 64-bit hash of a user id that partitions spill files (`level` 0; each re-split the next level)
/// and chooses the users of a sample (user_sample.h): FNV-1a, finished with splitmix64's mixer.
uint64_t user_hash(const std::string& id, uint32_t level = 0);

/// "4G", "512M", "1.5GiB", "300000000" (bytes) -> bytes; throws ArgumentError otherwise.
size_t parse_memory_size(const std::string& text, const std::string& flag = "--memory-budget");
/// Half the memory this process may use: the machine's physical memory, or the cgroup's limit when
/// lower (containers).
size_t default_memory_budget();

/// What the in-memory build of `events_path` is expected to need: ~64 bytes an event for the
/// events and their sort, and a profile (4 * dim + ~250 bytes) for every 16 events, events counted
/// as one per 40 bytes of the file (rows are 50-70). Generous: spilling when not needed costs time,
/// running out of memory costs the run. Partitions are then checked exactly (users counted).
size_t estimate_in_memory_bytes(const std::string& events_path, size_t dim);

struct SpillStats {
  size_t rows = 0;          // data rows of the events file (accepted + rejected)
  size_t users = 0;
  size_t partitions = 0;    // spill files profiled (after any re-split)
  uint64_t spill_bytes = 0; // the largest disk use of the spill folder at once
  ProfileBuildStats build;  // events_used, unusable_users, duplicates (reported as rejects), as_of
};

/// Builds the profiles of `events_path` into the profiles file `out_path` with at most about
/// `memory_budget` bytes of memory, spilling to a temporary folder in `spill_dir`
/// (`<spill_dir>/marquee-spill.tmp.<pid>`, removed at the end and, after a crash, by the next run).
/// Rejects and duplicates are reported to `rejects` exactly as the in-memory build reports them.
SpillStats build_profiles_spilled(const Catalog& catalog, const TitleMatrix& titles, const std::string& events_path,
                                  const EngagementOptions& engagement, RejectLog& rejects, const std::string& out_path,
                                  size_t memory_budget, const std::string& spill_dir, const TableLayout& layout = {});

}  // namespace marquee
