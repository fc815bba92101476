// The CUDA backend's entry points (engine/backend.h): device discovery, the self-test, and the
// scorer factory. GPU scoring kernels arrive with the GPU backend; until then this backend says so
// plainly instead of pretending.
#include "host/cuda/entry_points.h"
#include "engine/error.h"
#include "host/cuda/cuda_artwork.h"
#include "host/cuda/cuda_scorer.h"
#include "host/cuda/device_resources.h"
#include "host/cuda/self_test.h"
#include "kernels/probe.cuh"

#include <fmt/format.h>

#include <vector>

namespace marquee::cuda {

DeviceReport query_devices() {
  DeviceReport report;
  report.compiled_in = true;
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    report.error = fmt::format("{} ({})", cudaGetErrorString(err), cudaGetErrorName(err));
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return report;
  }
  if (count == 0) report.error = "no CUDA-capable device is detected";
  report.device_count = count;
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, d) != cudaSuccess) continue;
    report.devices.push_back(fmt::format("{} (sm_{}{}, {:.0f} GiB)", prop.name, prop.major, prop.minor,
                                         double(prop.totalGlobalMem) / double(1ull << 30)));
  }
  return report;
}

bool scoring_available() { return true; }

MemoryInfo memory_info(int device) {
  MemoryInfo m;
  int previous = 0;
  if (cudaGetDevice(&previous) != cudaSuccess || cudaSetDevice(device) != cudaSuccess) {
    cudaGetLastError();
    return m;
  }
  if (cudaMemGetInfo(&m.free_bytes, &m.total_bytes) == cudaSuccess) m.known = true;
  cudaGetLastError();
  cudaSetDevice(previous);
  return m;
}

void require_device(int device, const char* what) {
  const DeviceReport report = query_devices();
  if (report.device_count == 0)
    MARQUEE_THROW_AS(BackendError, "{}: no usable CUDA device ({}); use --backend cpu or auto", what, report.error);
  MARQUEE_CHECK_ARG(device >= 0 && device < report.device_count, "--device {} does not exist ({} CUDA devices)", device,
                    report.device_count);
}

std::unique_ptr<Scorer> make_scorer(const TitleMatrix& titles, const CudaScorerOptions& options) {
  require_device(options.device, "--backend cuda");
  return make_cuda_scorer(titles, options);
}

bool artwork_available() { return true; }

std::unique_ptr<ArtworkChooser> make_artwork_chooser(const Artwork& artwork, int device) {
  const DeviceReport report = query_devices();
  if (report.device_count == 0)
    MARQUEE_THROW_AS(BackendError, "GPU artwork choice: no usable CUDA device ({}); choose on the CPU", report.error);
  MARQUEE_CHECK_ARG(device >= 0 && device < report.device_count, "--device {} does not exist ({} CUDA devices)", device,
                    report.device_count);
  return make_cuda_artwork_chooser(artwork, device);
}

SelfTestResult self_test(int device) {
  SelfTestResult r;
  const DeviceReport report = query_devices();
  if (report.device_count <= device) {
    r.message = "no CUDA device " + std::to_string(device) + ": " + report.error;
    return r;
  }
  Resources res(device);
  constexpr int kN = 1000;  // not a multiple of the block size, on purpose
  DeviceBuffer<int> d_out(kN);
  kernels::launch_probe(d_out.data(), kN, res.stream());
  MARQUEE_CUDA_CHECK(cudaGetLastError());
  std::vector<int> host(kN, 0);
  MARQUEE_CUDA_CHECK(cudaMemcpyAsync(host.data(), d_out.data(), kN * sizeof(int), cudaMemcpyDeviceToHost, res.stream()));
  res.sync();
  for (int i = 0; i < kN; ++i) {
    if (host[i] != 2 * i + 1) {
      r.message = fmt::format("probe kernel wrote {} at {} (expected {})", host[i], i, 2 * i + 1);
      return r;
    }
  }
  r.ran = true;
  r.passed = true;
  r.message = "probe kernel ran on " + report.devices[device];
  return r;
}

}  // namespace marquee::cuda
