// `marquee daypart` (fit the time-of-day term on held-out events), and the check that a daypart
// model fits the scores it is applied to (docs/quality.md). The model file that `score --daypart FILE
// --hour H` and `serve --daypart FILE` apply is read and written by host/io/daypart_file.h.
#pragma once

#include "engine/backend.h"
#include "engine/daypart.h"
#include "engine/engagement.h"
#include "engine/recommender.h"
#include "host/io/daypart_file.h"
#include "host/jobs/common.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

namespace marquee {

/// Checks that `model` was fitted for the scores of this model kind and these options: the weight
/// is in that score's units. Throws ArgumentError listing every difference (with the flags to use).
void check_daypart_fits(const DaypartModel& model, const std::string& path, ModelKind kind, const AlsOptions& als,
                        const HybridWeights& weights, double half_life_days);

struct DaypartJobOptions {
  std::string catalog_dir, events_path, out_path;
  ModelKind model = ModelKind::Tags;
  AlsOptions als;
  HybridWeights weights;
  std::string model_dir;  // a `marquee train` model: its scores are re-ranked (family and parameters from it)
  Backend backend = Backend::Auto;
  ScorerOptions scorer;
  DaypartFitOptions fit;
  EngagementOptions engagement;
  InputLayout layout;  // --delimiter, --columns, --catalog-delimiter
  CommonOptions common;
};

/// Fits the weight, prints the report (per hour: held-out users and hits without / with the term)
/// and writes the model.
DaypartFitReport run_daypart_job(const DaypartJobOptions& options, std::FILE* table_to = stdout);

}  // namespace marquee
