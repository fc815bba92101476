// What `project`, `segment` and `eval-projection` share (docs/projection.md): user samples, k-means
// training on them, the feature scores of a batch, and the calibration's JSON.
#pragma once

#include "engine/catalog.h"
#include "engine/projection.h"
#include "engine/recommender.h"
#include "engine/scorer.h"
#include "engine/segments.h"
#include "host/backend/resolver.h"
#include "host/jobs/workspace.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace marquee {

/// `path` without its extension ("out/proj.json" -> "out/proj"): the stem of a job's side files.
std::string strip_extension(const std::string& path);

/// A title's name, or its id when it has none.
std::string title_label(const Catalog& catalog, uint32_t title);

/// An evenly strided sample of at most `target` users, read in batches (bounded memory); `mean`
/// (optional) accumulates the mean usable user over every batch of the same pass.
UserProfiles read_sample(ProfileSource& source, size_t target, size_t batch, bool usable_only = false,
                         UserMean* mean = nullptr);

/// Trains spherical k-means on a strided sample of usable users (k x max_points_per_centroid of
/// them). With options.center, one pass also accumulates the mean usable user, the sample is centred
/// on it and normalised again, and the model carries the mean so that assign_segments does the same.
KMeansResult train_segments(ProfileSource& source, const KMeansOptions& options, size_t batch,
                            const KMeansBackend& backend);

/// Scores of every feature row for every user of a batch, in row order (batch x rows).
std::vector<float> feature_scores(Scorer& scorer, const FeatureSpace& fs, const UserProfiles& batch, size_t first,
                                  const BehaviourFactors* behaviour);

/// A calibrated model as the JSON results carry it: features, coefficients and the fit's counts.
nlohmann::json calibration_json(const Calibration& cal, const CalibratedModel& model);

}  // namespace marquee
