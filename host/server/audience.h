// POST /v1/audience: the audience projection of docs/projection.md for a tag set, online. It uses the
// tags space (tag cosine + activity, calibrated on the snapshot's own viewing data, once per
// snapshot, on the first request) over every user the server holds; the batch job `marquee
// project` adds the hybrid space, segments, trailer plans and the report.
#pragma once

#include "engine/projection.h"
#include "host/server/serving_engine.h"

#include <nlohmann/json.hpp>

#include <memory>

namespace marquee::server {

class AudienceProjector {
 public:
  /// Calibrates on a sample of the snapshot's users (throws InputError when nobody watched anything).
  explicit AudienceProjector(const Snapshot& snapshot);

  uint64_t generation() const { return generation_; }

  /// Projects `title` over every user of `snapshot` (the one this projector was built for):
  /// audience size with intervals, the `top_users` most likely viewers, comparable titles, fan
  /// cohorts and the daypart.
  nlohmann::json project(const Snapshot& snapshot, const NewTitle& title, size_t top_users) const;

 private:
  uint64_t generation_;
  unsigned mask_;
  Calibration calibration_;
};

}  // namespace marquee::server
