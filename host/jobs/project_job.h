// `marquee project`: the projected audience of titles not yet released, by segment and by hour, with
// comparable titles, fan cohorts and a trailer plan (docs/projection.md, docs/cli.md). Users are
// streamed in batches from the profiles source; the affinity step runs on the chosen scorer backend
// (CPU, or the GPU when present).
#pragma once

#include "engine/backend.h"
#include "engine/projection.h"
#include "engine/segments.h"
#include "host/jobs/common.h"
#include "host/jobs/workspace.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace marquee {

struct ProjectJobOptions {
  InputOptions input;                    // events or profiles
  std::string new_titles_path;           // title_tags-shaped file of titles not in the catalogue
  std::vector<std::string> as_new;       // catalogue titles treated as unreleased (needs events)
  std::string out_path;                  // JSON result (required)
  std::string users_path;                // CSV user_id,affinity,p_watch; default <out stem>.users.csv
  size_t top = 100;                      // users in the CSV, best p_watch first
  bool all_users = false;                // every user (external merge sort, bounded memory)
  std::string segments_path;             // user_id,segment from `marquee segment`
  size_t trailers = 0;                   // trailer plan for this many segments (k-means here without a file)
  std::string report_path;               // self-contained HTML report
  ProjectionSpace space = ProjectionSpace::Hybrid;  // measured best (docs/projection.md); tags streams any size
  std::string model_dir;                 // a saved behaviour/hybrid model: the hybrid space fits no ALS
  Backend backend = Backend::Auto;
  ScorerOptions scorer;
  size_t batch = 16384;
  size_t sort_run_users = 2'000'000;     // --all: users per sorted run on disk
  CalibrationOptions calibration;
  KMeansOptions kmeans;                  // for --trailers without --segments
  size_t comparables = 10, cohorts = 10, min_fans = 20, emphasis_tags = 5;
  double fan_weight = 0.5;               // engagement weight that makes a user a fan of a title
  CommonOptions common;
};

/// Runs the projection; prints a human summary to `summary_to` (may be null) and returns the JSON
/// that was written to out_path.
nlohmann::json run_project_job(const ProjectJobOptions& options, std::FILE* summary_to = stdout);

}  // namespace marquee
