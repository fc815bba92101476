// What every job shares: the common options (rejects file, strict mode), the rejects-path rule, the
// batch limit, and the printing of a user's recommendations with their explanations.
#pragma once

#include "engine/profiles.h"
#include "host/jobs/workspace.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace marquee {

struct CommonOptions {
  std::string rejects_path;  // empty: derived from the output path ("<out>.rejects.csv")
  bool strict = false;
  double max_reject_rate = kDefaultMaxRejectRate;  // a file with a larger share of rows rejected fails the job
};

/// The rejects file of a job: --rejects, or "<out>.rejects.csv".
std::string rejects_path_for(const CommonOptions& common, const std::string& out_path);
/// The job's RejectLog: --rejects FILE (always written), or `<out_path>.rejects.csv`, written only
/// when a row was rejected.
RejectLog job_rejects(const CommonOptions& common, const std::string& out_path);

/// Limits shared by the CLI and the server.
constexpr size_t kMaxBatchUsers = 1'000'000;

/// Prints a user's ranked titles with their explanations (used by `score --show` and `explain`).
void print_recommendations(std::FILE* to, const Workspace& ws, const UserProfiles& batch, size_t user,
                           const uint32_t* titles, const float* scores, size_t count);

}  // namespace marquee
