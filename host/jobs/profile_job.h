// `marquee profile`: builds every user's profile from an events file and writes the profiles file.
#pragma once

#include "host/jobs/common.h"
#include "host/jobs/workspace.h"

#include <cstddef>
#include <string>

namespace marquee {

struct ProfileJobOptions {
  InputOptions input;  // events_path required; memory_budget/spill_dir: bounded memory (docs/scale.md)
  std::string out_path;
  CommonOptions common;
};

struct ProfileJobSummary {
  size_t users = 0, unusable_users = 0, event_rows = 0, rejected = 0;
  size_t partitions = 0;     // within --memory-budget: partitions built (0: in memory)
  uint64_t spill_bytes = 0;  // within --memory-budget: the spill files' largest size on disk
  double seconds = 0;
};

ProfileJobSummary run_profile_job(const ProfileJobOptions& options);

}  // namespace marquee
