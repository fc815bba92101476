// `marquee project`, `marquee segment` and `marquee eval-projection` as plain functions
// (docs/projection.md, docs/cli.md). Users are streamed in batches from the profiles source; the
// affinity step runs on the chosen scorer backend (CPU, or the GPU when present).
#pragma once

#include "engine/backend.h"
#include "engine/projection.h"
#include "engine/segments.h"
#include "host/jobs/jobs.h"
#include "host/io/rejects.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace marquee {

/// Reads new titles from a title_tags-shaped file (`title_id,tag,weight`, optional `name`), CSV or
/// JSON Lines. Bad rows (malformed, weight outside (0, 1], duplicate (title, tag), a title already
/// in the catalogue) and unknown tags are rejected with file:line (ignored with a warning; an
/// InputError under strict). A title left with no known tag, or a file with no titles, is an InputError.
std::vector<NewTitle> load_new_titles(const std::string& path, const Catalog& catalog, RejectLog& rejects);

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

struct SegmentJobOptions {
  InputOptions input;
  std::string out_path;                  // CSV user_id,segment; side files <stem>.centroids.csv, .mean.csv, .json
  KMeansOptions kmeans;
  Backend backend = Backend::Auto;       // k-means: cpu = FAISS, cuda = GPU twin, auto = cuda when a device is present
  size_t batch = 16384;
  size_t top_tags = 8, top_titles = 8;
  CommonOptions common;
};

nlohmann::json run_segment_job(const SegmentJobOptions& options, std::FILE* summary_to = stdout);

struct EvalProjectionOptions {
  std::string catalog_dir, events_path;
  std::string out_path;                  // JSON report (optional)
  std::string rows_path;                 // per-title CSV (optional)
  size_t titles = 20;                    // held-out titles
  size_t min_viewers = 20;               // a held-out title needs this many viewers
  uint64_t seed = 7;
  std::string space = "both";            // tags | hybrid | both
  Backend backend = Backend::Auto;
  ScorerOptions scorer;
  CalibrationOptions calibration;
  EngagementOptions engagement;
  CommonOptions common;
};

nlohmann::json run_eval_projection_job(const EvalProjectionOptions& options, std::FILE* table_to = stdout);

/// Writes the HTML report of a `project` JSON result. Throws InputError naming what to install when
/// the Vega JavaScript files are missing (see report_js_dir()).
void write_projection_report(const std::string& path, const nlohmann::json& result);

/// Where vega.min.js, vega-lite.min.js and vega-embed.min.js are looked for: $MARQUEE_REPORT_JS_DIR,
/// else host/report/node_modules of the source tree this binary was built from. Throws InputError
/// naming the missing file and the install command when one is missing.
std::vector<std::string> report_js_files();

}  // namespace marquee
