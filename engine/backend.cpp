#include "engine/backend.h"

#include "engine/error.h"

namespace marquee {

Backend parse_backend(const std::string& text) {
  if (text == "auto") return Backend::Auto;
  if (text == "cpu") return Backend::Cpu;
  if (text == "cuda") return Backend::Cuda;
  MARQUEE_THROW_AS(ArgumentError, "unknown backend '{}': expected auto, cpu or cuda", text);
}

ScorerChoice choose_scorer(Backend backend, const TitleMatrix& titles, const CpuScorerOptions& cpu_options) {
  ScorerChoice choice;
  if (backend == Backend::Cpu) {
    choice.scorer = make_cpu_scorer(titles, cpu_options);
    choice.reason = "--backend cpu";
    return choice;
  }
  if (backend == Backend::Cuda) {
    choice.scorer = cuda::make_scorer(titles);  // throws with the reason when unusable
    choice.reason = "--backend cuda";
    return choice;
  }
  const cuda::DeviceReport report = cuda::query_devices();
  if (report.device_count > 0 && cuda::scoring_available()) {
    choice.scorer = cuda::make_scorer(titles);
    choice.reason = "auto: CUDA device present";
    return choice;
  }
  choice.scorer = make_cpu_scorer(titles, cpu_options);
  if (!report.compiled_in) choice.reason = "auto: built without CUDA";
  else if (report.device_count == 0) choice.reason = "auto: no CUDA device (" + report.error + ")";
  else choice.reason = "auto: CUDA scoring not built yet";
  return choice;
}

}  // namespace marquee
