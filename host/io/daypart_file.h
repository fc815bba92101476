// The daypart model file: what `marquee daypart` writes and `score --daypart FILE --hour H` and
// `serve --daypart FILE` read (docs/quality.md, docs/formats.md).
#pragma once

#include "engine/catalog.h"
#include "engine/daypart.h"

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

}  // namespace marquee
