// `marquee eval-projection`: holds out catalogue titles one at a time and compares the projection
// (in each space) with baselines on who watched them and how many (docs/projection.md).
#pragma once

#include "engine/backend.h"
#include "engine/engagement.h"
#include "engine/projection.h"
#include "host/jobs/common.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace marquee {

struct EvalProjectionOptions {
  std::string catalog_dir, events_path;
  std::string out_path;                  // JSON report (optional)
  std::string rows_path;                 // per-title CSV (optional)
  size_t titles = 20;                    // held-out titles
  size_t min_viewers = 20;               // a held-out title needs this many viewers
  uint64_t seed = 7;
  std::string space = "both";            // tags | hybrid | both
  /// A saved behaviour/hybrid model (`--model-dir`): the hybrid space folds users in against it (no
  /// ALS fit per held-out title); held-out titles still get factors from their tags only.
  std::string model_dir;
  Backend backend = Backend::Auto;
  ScorerOptions scorer;
  CalibrationOptions calibration;
  EngagementOptions engagement;
  InputLayout layout;  // --delimiter, --columns, --catalog-delimiter
  CommonOptions common;
};

nlohmann::json run_eval_projection_job(const EvalProjectionOptions& options, std::FILE* table_to = stdout);

}  // namespace marquee
