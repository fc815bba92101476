// Implicit ALS on the device: the CPU trainer's algorithm (engine/als.cpp) with the per-row exact
// solves in kernels/als_kernels.cu and Y^T Y from cuBLAS. Same interaction layout, same starting
// factors, same iteration order, so results agree with the CPU within float tolerance.
#include "host/cuda/entry_points.h"
#include "engine/error.h"
#include "host/cuda/cublas_handle.h"
#include "host/cuda/device_resources.h"
#include "kernels/als_kernels.cuh"

namespace marquee::cuda {
namespace {

struct DeviceCsr {
  DeviceBuffer<uint64_t> ptr;
  DeviceBuffer<uint32_t> col;
  DeviceBuffer<float> confidence, preference;
  size_t rows = 0;
};

template <typename T>
DeviceBuffer<T> upload(const std::vector<T>& host, cudaStream_t stream) {
  DeviceBuffer<T> d(std::max<size_t>(host.size(), 1));
  if (!host.empty())
    MARQUEE_CUDA_CHECK(cudaMemcpyAsync(d.data(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice, stream));
  return d;
}

DeviceCsr upload(const AlsCsr& csr, cudaStream_t stream) {
  DeviceCsr d;
  d.rows = csr.ptr.size() - 1;
  d.ptr = upload(csr.ptr, stream);
  d.col = upload(csr.col, stream);
  d.confidence = upload(csr.confidence, stream);
  d.preference = upload(csr.preference, stream);
  return d;
}

}  // namespace

bool als_available() { return true; }

AlsModel train_als(size_t users, size_t titles, const std::vector<Interaction>& interactions, const AlsOptions& o,
                   const std::function<void(size_t)>& progress, int device) {
  check_als_arguments(users, titles, interactions, o);
  MARQUEE_CHECK_ARG(o.factors <= size_t(kernels::kAlsMaxFactors),
                    "GPU ALS supports up to {} factors; got {} (use the CPU backend)", kernels::kAlsMaxFactors,
                    o.factors);
  require_device(device, "GPU ALS");
  MARQUEE_CUDA_CHECK(cudaSetDevice(device));  // the stream, handle and buffers below belong to it
  const int f = int(o.factors);
  const AlsCsr by_user = build_als_csr(users, interactions, true, o.alpha);
  const AlsCsr by_title = build_als_csr(titles, interactions, false, o.alpha);
  AlsModel m = start_als_model(users, titles, o, by_title);

  Stream stream;
  CublasHandle cublas;
  MARQUEE_CUBLAS_CHECK(cublasSetStream(cublas.get(), stream.get()));
  const DeviceCsr du = upload(by_user, stream.get()), dt = upload(by_title, stream.get());
  DeviceBuffer<float> x = upload(m.user_factors, stream.get()), y = upload(m.title_factors, stream.get());
  DeviceBuffer<float> yty(size_t(f) * f);
  DeviceBuffer<int> failures(1);
  MARQUEE_CUDA_CHECK(cudaMemsetAsync(failures.data(), 0, sizeof(int), stream.get()));

  // x_rows = solve(csr, fixed = other side's factors with `other_rows` rows)
  auto half_step = [&](const DeviceCsr& csr, const DeviceBuffer<float>& fixed, size_t other_rows,
                       DeviceBuffer<float>& solved) {
    const float one = 1.0f, zero = 0.0f;
    // Row-major fixed (other_rows x f) is column-major f x other_rows: YtY = fixed_cm * fixed_cm^T.
    MARQUEE_CUBLAS_CHECK(cublasSgemm(cublas.get(), CUBLAS_OP_N, CUBLAS_OP_T, f, f, int(other_rows), &one, fixed.data(),
                                     f, fixed.data(), f, &zero, yty.data(), f));
    kernels::als_solve_rows(csr.ptr.data(), csr.col.data(), csr.confidence.data(), csr.preference.data(), fixed.data(),
                            yty.data(), f, o.regularization, csr.rows, solved.data(), failures.data(), stream.get());
    MARQUEE_CUDA_CHECK(cudaGetLastError());
  };
  for (size_t it = 0; it < o.iterations; ++it) {
    half_step(du, y, titles, x);
    half_step(dt, x, users, y);
    if (progress) {
      stream.sync();
      progress(it + 1);
    }
  }
  int failed = 0;
  MARQUEE_CUDA_CHECK(cudaMemcpyAsync(&failed, failures.data(), sizeof(int), cudaMemcpyDeviceToHost, stream.get()));
  MARQUEE_CUDA_CHECK(cudaMemcpyAsync(m.user_factors.data(), x.data(), m.user_factors.size() * sizeof(float),
                                     cudaMemcpyDeviceToHost, stream.get()));
  MARQUEE_CUDA_CHECK(cudaMemcpyAsync(m.title_factors.data(), y.data(), m.title_factors.size() * sizeof(float),
                                     cudaMemcpyDeviceToHost, stream.get()));
  stream.sync();
  MARQUEE_ASSERT(failed == 0);
  return m;
}

}  // namespace marquee::cuda
