// `marquee segment`: k-means segments of the users, their assignments and descriptions
// (docs/projection.md, docs/cli.md).
#pragma once

#include "engine/backend.h"
#include "engine/segments.h"
#include "host/jobs/common.h"
#include "host/jobs/workspace.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdio>
#include <string>

namespace marquee {

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

}  // namespace marquee
