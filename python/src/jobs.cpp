// marquee.project and marquee.segments: the `marquee project` and `marquee segment` jobs
// (host/jobs/project_job.h, segment_job.h) with their results as dicts.
#include "common.h"

#include "engine/error.h"
#include "engine/projection.h"
#include "host/jobs/project_job.h"
#include "host/jobs/segment_job.h"

namespace marquee::python {

namespace {

struct ProjectArgs {
  std::string catalog_dir, events, profiles, new_titles, out, users_out, segments, space, model_dir, backend,
      rejects;
  std::vector<std::string> as_new;
  size_t top = 100, trailers = 0, batch = 16384, calibration_titles = 64, calibration_users = 20000,
         comparables = 10, cohorts = 10, min_fans = 20;
  bool all_users = false, strict = false;
  int threads = 0;
  uint64_t seed = 42, kmeans_seed = 1234;
  double fan_weight = 0.5, half_life_days = 0, max_reject_rate = kDefaultMaxRejectRate;
};

py::object project(const ProjectArgs& a, py::handle as_of) {
  // What the CLI's flags and callback check before the job (host/cli/project.cpp, guards.cpp).
  MARQUEE_CHECK_ARG(a.events.empty() != a.profiles.empty(), "project needs exactly one of events= or profiles=");
  MARQUEE_CHECK_ARG(!a.out.empty(), "project needs out= (the JSON result)");
  MARQUEE_CHECK_ARG(a.threads >= 0 && a.threads <= 1024, "threads must be between 0 and 1024; got {}", a.threads);
  MARQUEE_CHECK_ARG(a.max_reject_rate >= 0 && a.max_reject_rate <= 1, "max_reject_rate must be in [0, 1]; got {}",
                    a.max_reject_rate);
  ProjectJobOptions o;
  o.input.catalog_dir = a.catalog_dir;
  o.input.events_path = a.events;
  o.input.profiles_path = a.profiles;
  o.input.engagement = engagement_options(a.half_life_days, as_of);
  o.new_titles_path = a.new_titles;
  o.as_new = a.as_new;
  o.out_path = a.out;
  o.users_path = a.users_out;
  o.top = a.top;
  o.all_users = a.all_users;
  o.segments_path = a.segments;
  o.trailers = a.trailers;
  o.space = parse_projection_space(a.space);
  o.model_dir = a.model_dir;
  o.backend = parse_backend(a.backend);
  o.scorer.cpu.threads = a.threads;
  o.batch = a.batch;
  o.calibration.seed = a.seed;
  o.calibration.titles = a.calibration_titles;
  o.calibration.users = a.calibration_users;
  o.comparables = a.comparables;
  o.cohorts = a.cohorts;
  o.min_fans = a.min_fans;
  o.fan_weight = a.fan_weight;
  o.kmeans.seed = a.kmeans_seed;
  o.common.rejects_path = a.rejects;
  o.common.strict = a.strict;
  o.common.max_reject_rate = a.max_reject_rate;
  nlohmann::json result;
  {
    py::gil_scoped_release nogil;
    result = run_project_job(o, nullptr);
  }
  return to_python(result);
}

py::object segment(const std::string& catalog_dir, const std::string& events, const std::string& profiles, size_t k,
                   const std::string& out, uint64_t seed, size_t iterations, bool center, const std::string& backend,
                   size_t batch, double half_life_days, py::handle as_of, const std::string& rejects, bool strict,
                   double max_reject_rate) {
  // What the CLI's flags and guards check before the job (host/cli/segment.cpp, guards.cpp).
  MARQUEE_CHECK_ARG(events.empty() != profiles.empty(), "segments needs exactly one of events= or profiles=");
  MARQUEE_CHECK_ARG(!out.empty(), "segments needs out= (the user_id,segment CSV)");
  MARQUEE_CHECK_ARG(max_reject_rate >= 0 && max_reject_rate <= 1, "max_reject_rate must be in [0, 1]; got {}",
                    max_reject_rate);
  SegmentJobOptions o;
  o.input.catalog_dir = catalog_dir;
  o.input.events_path = events;
  o.input.profiles_path = profiles;
  o.input.engagement = engagement_options(half_life_days, as_of);
  o.out_path = out;
  o.kmeans.k = k;
  o.kmeans.seed = seed;
  o.kmeans.iterations = iterations;
  o.kmeans.center = center;
  o.backend = parse_backend(backend);
  o.batch = batch;
  o.common.rejects_path = rejects;
  o.common.strict = strict;
  o.common.max_reject_rate = max_reject_rate;
  nlohmann::json result;
  {
    py::gil_scoped_release nogil;
    result = run_segment_job(o, nullptr);
  }
  return to_python(result);
}

}  // namespace

void bind_jobs(py::module_& m) {
  m.def("_segment", &segment);
  m.def("_project", [](const std::string& catalog_dir, const std::string& events, const std::string& profiles,
                       const std::string& new_titles, const std::vector<std::string>& as_new, const std::string& out,
                       const std::string& users_out, size_t top, bool all_users, const std::string& segments,
                       size_t trailers, const std::string& space, const std::string& model_dir,
                       const std::string& backend, size_t batch, int threads, uint64_t seed, size_t calibration_titles,
                       size_t calibration_users, size_t comparables, size_t cohorts, size_t min_fans,
                       double fan_weight, uint64_t kmeans_seed, double half_life_days, py::handle as_of,
                       const std::string& rejects, bool strict, double max_reject_rate) {
    ProjectArgs a;
    a.catalog_dir = catalog_dir, a.events = events, a.profiles = profiles, a.new_titles = new_titles;
    a.as_new = as_new, a.out = out, a.users_out = users_out, a.top = top, a.all_users = all_users;
    a.segments = segments, a.trailers = trailers, a.space = space, a.model_dir = model_dir, a.backend = backend;
    a.batch = batch, a.threads = threads, a.seed = seed, a.calibration_titles = calibration_titles;
    a.calibration_users = calibration_users, a.comparables = comparables, a.cohorts = cohorts;
    a.min_fans = min_fans, a.fan_weight = fan_weight, a.kmeans_seed = kmeans_seed;
    a.half_life_days = half_life_days, a.rejects = rejects, a.strict = strict, a.max_reject_rate = max_reject_rate;
    return project(a, as_of);
  });
}

}  // namespace marquee::python
