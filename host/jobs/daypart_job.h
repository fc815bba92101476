// `marquee daypart` (fit the time-of-day term on held-out events) and the daypart model file that
// `score --daypart FILE --hour H` and `serve --daypart FILE` apply (docs/quality.md, docs/formats.md).
#pragma once

#include "engine/backend.h"
#include "engine/daypart.h"
#include "engine/engagement.h"
#include "engine/recommender.h"
#include "host/jobs/jobs.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

namespace marquee {

/// Writes the model as JSON (atomically): model kind and the options that set its score scale
/// (ALS, hybrid weights, half-life), weight, prior, each title's plays per hour by title id, and
/// the fit report.
void write_daypart_model(const std::string& path, const DaypartModel& model, const Catalog& catalog,
                         const DaypartFitReport* report);

/// Reads a model written by write_daypart_model against `catalog`: titles are matched by id (ids
/// the catalogue lacks are counted and reported in one warning; titles the file lacks get no term).
/// Throws InputError naming the file for a file that is not a daypart model.
DaypartModel load_daypart_model(const std::string& path, const Catalog& catalog);

/// Checks that `model` was fitted for the scores of this model kind and these options: the weight
/// is in that score's units. Throws ArgumentError listing every difference (with the flags to use).
void check_daypart_fits(const DaypartModel& model, const std::string& path, ModelKind kind, const AlsOptions& als,
                        const HybridWeights& weights, double half_life_days);

struct DaypartJobOptions {
  std::string catalog_dir, events_path, out_path;
  ModelKind model = ModelKind::Tags;
  AlsOptions als;
  HybridWeights weights;
  Backend backend = Backend::Auto;
  ScorerOptions scorer;
  DaypartFitOptions fit;
  EngagementOptions engagement;
  CommonOptions common;
};

/// Fits the weight, prints the report (per hour: held-out users and hits without / with the term)
/// and writes the model.
DaypartFitReport run_daypart_job(const DaypartJobOptions& options, std::FILE* table_to = stdout);

}  // namespace marquee
