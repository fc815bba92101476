// The jobs marquee.dask runs on its workers (python/marquee/dask.py, docs/scale.md): one part of
// `score --out DIR/` (run_score_job with only_part), the profiles file (run_profile_job), and the
// manifest + _SUCCESS of a directory output (OutputDir::finish). Results as dicts.
#include "common.h"

#include "engine/error.h"
#include "host/io/output_dir.h"
#include "host/jobs/profile_job.h"
#include "host/jobs/score_job.h"

namespace marquee::python {

namespace {

py::object score_part(const std::string& catalog_dir, const std::string& events, const std::string& profiles,
                      const std::string& model_dir, const std::string& model, size_t k, const std::string& out,
                      const std::string& format, size_t partitions, long part, const std::string& backend, int threads,
                      size_t batch, size_t memory_budget, const std::string& spill_dir) {
  MARQUEE_CHECK_ARG(events.empty() != profiles.empty(), "score needs exactly one of events= or profiles=");
  MARQUEE_CHECK_ARG(is_output_dir_path(out), "out={}: a part is written into a directory (end it with '/')", out);
  ScoreJobOptions o;
  o.input.catalog_dir = catalog_dir;
  o.input.events_path = events;
  o.input.profiles_path = profiles;
  o.input.memory_budget = memory_budget;
  o.input.spill_dir = spill_dir;
  o.model_dir = model_dir;
  o.auto_model = model_dir.empty() && model == "auto";
  if (!o.auto_model && model_dir.empty()) o.model = parse_model_kind(model);
  o.k = k;
  o.out_path = out;
  o.format = format;
  o.partitions = partitions;
  o.only_part = part;
  o.backend = parse_backend(backend);
  o.input.profile_backend = o.backend;
  o.scorer.cpu.threads = threads;
  o.batch = batch;
  ScoreJobSummary s;
  {
    py::gil_scoped_release nogil;
    s = run_score_job(o, nullptr);
  }
  nlohmann::json parts = nlohmann::json::array();
  for (const PartRecord& r : s.part_records) parts.push_back(part_record_json(r));
  return to_python({{"users", s.users},
                    {"rows", s.rows},
                    {"parts", parts},
                    {"parts_skipped", s.parts_skipped},
                    {"backend", s.backend},
                    {"model", s.model},
                    {"seconds", s.seconds}});
}

py::object build_profiles_file(const std::string& catalog_dir, const std::string& events, const std::string& out,
                               size_t memory_budget, const std::string& spill_dir, const std::string& backend) {
  ProfileJobOptions o;
  o.input.catalog_dir = catalog_dir;
  o.input.events_path = events;
  o.input.memory_budget = memory_budget;
  o.input.spill_dir = spill_dir;
  o.input.profile_backend = parse_backend(backend);
  o.out_path = out;
  ProfileJobSummary s;
  {
    py::gil_scoped_release nogil;
    s = run_profile_job(o);
  }
  return to_python({{"users", s.users},
                    {"event_rows", s.event_rows},
                    {"rejected", s.rejected},
                    {"partitions", s.partitions},
                    {"seconds", s.seconds}});
}

}  // namespace

void bind_scale(py::module_& m) {
  m.def("_score_part", &score_part, py::arg("catalog_dir"), py::arg("events"), py::arg("profiles"),
        py::arg("model_dir"), py::arg("model"), py::arg("k"), py::arg("out"), py::arg("format"),
        py::arg("partitions"), py::arg("part"), py::arg("backend"), py::arg("threads"), py::arg("batch"),
        py::arg("memory_budget"), py::arg("spill_dir"));
  m.def("_build_profiles_file", &build_profiles_file, py::arg("catalog_dir"), py::arg("events"), py::arg("out"),
        py::arg("memory_budget"), py::arg("spill_dir"), py::arg("backend"));
  // The driver's last step: every part's sidecar present -> _manifest.json, then _SUCCESS.
  m.def("_finish_parts", [](const std::string& dir, const std::string& run_json, size_t parts, const std::string& ext) {
    nlohmann::json manifest;
    {
      py::gil_scoped_release nogil;
      OutputDir out(dir, nlohmann::json::parse(run_json), parts, ext);
      manifest = out.finish();
    }
    return to_python(manifest);
  });
}

}  // namespace marquee::python
