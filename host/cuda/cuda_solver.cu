// EASE's n^3 step on the device: the inverse of a symmetric positive definite matrix by cuSOLVER's
// Cholesky factorisation and inverse (potrf + potri), the same two LAPACK steps the CPU twin
// (marquee::cpu_spd_inverse) runs, on the same triangle, so results agree within float tolerance.
// At 20k titles that is ~8 TFLOP: about a minute with OpenBLAS on 2 cores, well under a second of
// arithmetic on an H200 (plus 2 x 1.6 GB of copies).
#include "host/cuda/entry_points.h"
#include "engine/error.h"
#include "host/cuda/device_resources.h"

#include <cusolverDn.h>

#include <limits>

#define MARQUEE_CUSOLVER_CHECK(call)                                                                      \
  do {                                                                                                    \
    const cusolverStatus_t marquee_st_ = (call);                                                          \
    if (marquee_st_ != CUSOLVER_STATUS_SUCCESS)                                                           \
      MARQUEE_THROW_AS(::marquee::BackendError, "{} failed: cuSOLVER status {}", #call, int(marquee_st_)); \
  } while (0)

namespace marquee::cuda {
namespace {

class CusolverHandle {
 public:
  CusolverHandle() { MARQUEE_CUSOLVER_CHECK(cusolverDnCreate(&handle_)); }
  ~CusolverHandle() {
    if (handle_) cusolverDnDestroy(handle_);
  }
  CusolverHandle(const CusolverHandle&) = delete;
  CusolverHandle& operator=(const CusolverHandle&) = delete;
  cusolverDnHandle_t get() const { return handle_; }

 private:
  cusolverDnHandle_t handle_ = nullptr;
};

}  // namespace

bool spd_inverse_available() { return true; }

bool spd_inverse(size_t n, float* a, int device) {
  MARQUEE_CHECK_ARG(n > 0 && n <= size_t(std::numeric_limits<int>::max() / 2), "a {} x {} matrix for cuSOLVER", n, n);
  require_device(device, "GPU EASE inverse");
  MARQUEE_CUDA_CHECK(cudaSetDevice(device));
  Stream stream;
  CusolverHandle solver;
  MARQUEE_CUSOLVER_CHECK(cusolverDnSetStream(solver.get(), stream.get()));
  const int dim = int(n);
  // Row-major upper on the host = column-major lower for cuSOLVER, as for LAPACK.
  const cublasFillMode_t lower = CUBLAS_FILL_MODE_LOWER;
  const size_t bytes = n * n * sizeof(float);

  DeviceBuffer<float> d_a;
  DeviceBuffer<float> work;
  DeviceBuffer<int> info(1);
  try {
    d_a = DeviceBuffer<float>(n * n);
    int lwork_potrf = 0, lwork_potri = 0;
    MARQUEE_CUSOLVER_CHECK(cusolverDnSpotrf_bufferSize(solver.get(), lower, dim, d_a.data(), dim, &lwork_potrf));
    MARQUEE_CUSOLVER_CHECK(cusolverDnSpotri_bufferSize(solver.get(), lower, dim, d_a.data(), dim, &lwork_potri));
    work = DeviceBuffer<float>(size_t(std::max({lwork_potrf, lwork_potri, 1})));
  } catch (const DeviceOutOfMemory&) {
    return false;  // nothing copied yet: the caller inverts on the CPU or reports it
  }
  MARQUEE_CUDA_CHECK(cudaMemcpyAsync(d_a.data(), a, bytes, cudaMemcpyHostToDevice, stream.get()));

  int failed = 0;
  MARQUEE_CUSOLVER_CHECK(
      cusolverDnSpotrf(solver.get(), lower, dim, d_a.data(), dim, work.data(), int(work.size()), info.data()));
  MARQUEE_CUDA_CHECK(cudaMemcpyAsync(&failed, info.data(), sizeof(int), cudaMemcpyDeviceToHost, stream.get()));
  stream.sync();
  MARQUEE_CHECK_INPUT(failed == 0, "EASE: the Gram matrix is not positive definite (cuSOLVER info {})", failed);
  MARQUEE_CUSOLVER_CHECK(
      cusolverDnSpotri(solver.get(), lower, dim, d_a.data(), dim, work.data(), int(work.size()), info.data()));
  MARQUEE_CUDA_CHECK(cudaMemcpyAsync(&failed, info.data(), sizeof(int), cudaMemcpyDeviceToHost, stream.get()));
  stream.sync();
  MARQUEE_CHECK_INPUT(failed == 0, "EASE: the Gram matrix could not be inverted (cuSOLVER info {})", failed);
  MARQUEE_CUDA_CHECK(cudaMemcpyAsync(a, d_a.data(), bytes, cudaMemcpyDeviceToHost, stream.get()));
  stream.sync();
  return true;
}

}  // namespace marquee::cuda
