#include "engine/backend.h"

#include "engine/enum_names.h"

namespace marquee {
namespace {
constexpr EnumName<Backend> kBackendNames[] = {
    {Backend::Auto, "auto"}, {Backend::Cpu, "cpu"}, {Backend::Cuda, "cuda"}};
constexpr EnumName<GpuPrecision> kPrecisionNames[] = {{GpuPrecision::Fp32, "fp32"},
                                                      {GpuPrecision::Tf32, "tf32"},
                                                      {GpuPrecision::Bf16, "bf16"},
                                                      {GpuPrecision::Fp16, "fp16"}};
}  // namespace

Backend parse_backend(const std::string& text) { return parse_enum(kBackendNames, text, "backend"); }
const char* backend_name(Backend backend) { return enum_name(kBackendNames, backend); }

GpuPrecision parse_gpu_precision(const std::string& text) {
  return parse_enum(kPrecisionNames, text, "GPU precision");
}
const char* gpu_precision_name(GpuPrecision precision) { return enum_name(kPrecisionNames, precision); }

}  // namespace marquee
