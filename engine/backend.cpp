#include "engine/backend.h"

#include "engine/error.h"

namespace marquee {

Backend parse_backend(const std::string& text) {
  if (text == "auto") return Backend::Auto;
  if (text == "cpu") return Backend::Cpu;
  if (text == "cuda") return Backend::Cuda;
  MARQUEE_THROW_AS(ArgumentError, "unknown backend '{}': expected auto, cpu or cuda", text);
}

GpuPrecision parse_gpu_precision(const std::string& text) {
  if (text == "fp32") return GpuPrecision::Fp32;
  if (text == "tf32") return GpuPrecision::Tf32;
  if (text == "bf16") return GpuPrecision::Bf16;
  if (text == "fp16") return GpuPrecision::Fp16;
  MARQUEE_THROW_AS(ArgumentError, "unknown GPU precision '{}': expected fp32, tf32, bf16 or fp16", text);
}

const char* gpu_precision_name(GpuPrecision precision) {
  switch (precision) {
    case GpuPrecision::Fp32: return "fp32";
    case GpuPrecision::Tf32: return "tf32";
    case GpuPrecision::Bf16: return "bf16";
    case GpuPrecision::Fp16: return "fp16";
  }
  return "?";
}

ScorerChoice choose_scorer(Backend backend, const TitleMatrix& titles, const ScorerOptions& options) {
  ScorerChoice choice;
  if (backend == Backend::Cpu) {
    choice.scorer = make_cpu_scorer(titles, options.cpu);
    choice.reason = "--backend cpu";
    return choice;
  }
  if (backend == Backend::Cuda) {
    choice.scorer = cuda::make_scorer(titles, options.cuda);  // throws with the reason when unusable
    choice.reason = "--backend cuda";
    choice.on_gpu = true;
    return choice;
  }
  const cuda::DeviceReport report = cuda::query_devices();
  if (report.device_count > 0 && cuda::scoring_available()) {
    choice.scorer = cuda::make_scorer(titles, options.cuda);
    choice.reason = "auto: CUDA device present";
    choice.on_gpu = true;
    return choice;
  }
  choice.scorer = make_cpu_scorer(titles, options.cpu);
  if (!report.compiled_in) choice.reason = "auto: built without CUDA";
  else if (report.device_count == 0) choice.reason = "auto: no CUDA device (" + report.error + ")";
  else choice.reason = "auto: CUDA scoring not built yet";
  return choice;
}

std::unique_ptr<ArtworkChooser> choose_artwork_chooser(const ScorerChoice& scorer, const Artwork& artwork,
                                                       const ScorerOptions& options) {
  if (scorer.on_gpu) return cuda::make_artwork_chooser(artwork, options.cuda.device);
  return make_cpu_artwork_chooser(artwork, options.cpu.threads);
}

}  // namespace marquee
