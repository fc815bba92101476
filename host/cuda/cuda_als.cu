// Implicit ALS on the device: the CPU trainer's algorithm (engine/als.cpp) with the per-row exact
// solves in kernels/als_kernels.cu and Y^T Y from cuBLAS. Same interaction layout, same starting
// factors, same iteration order, same options (w0, nu, any factors up to 1,024), so results agree
// with the CPU within float tolerance. The fold-in twin solves a batch of users' rows against a
// model's title factors the same way.
#include "host/cuda/entry_points.h"
#include "engine/error.h"
#include "host/cuda/cublas_handle.h"
#include "host/cuda/device_resources.h"
#include "kernels/als_kernels.cuh"

#include <memory>
#include <mutex>
#include <optional>

namespace marquee::cuda {
namespace {

struct DeviceCsr {
  DeviceBuffer<uint64_t> ptr;
  DeviceBuffer<uint32_t> col;
  DeviceBuffer<float> confidence, preference;
  size_t rows = 0;
};

template <typename T>
DeviceBuffer<T> upload(const T* host, size_t count, cudaStream_t stream) {
  DeviceBuffer<T> d(std::max<size_t>(count, 1));
  if (count > 0) MARQUEE_CUDA_CHECK(cudaMemcpyAsync(d.data(), host, count * sizeof(T), cudaMemcpyHostToDevice, stream));
  return d;
}

template <typename T>
DeviceBuffer<T> upload(const std::vector<T>& host, cudaStream_t stream) {
  return upload(host.data(), host.size(), stream);
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

// The global-memory systems for factors too large for shared memory: one slot per block that can
// be resident at once (more would only wait), at most 256 MiB.
struct SolveWorkspace {
  DeviceBuffer<float> slots;
  size_t count = 0;

  SolveWorkspace(int factors, int device) {
    if (!kernels::als_needs_workspace(factors)) return;
    int sms = 0;
    MARQUEE_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    const size_t per_slot = kernels::als_system_floats(factors);
    count = std::max<size_t>(1, std::min<size_t>(size_t(sms) * 2, (size_t(256) << 20) / (per_slot * sizeof(float))));
    slots = DeviceBuffer<float>(count * per_slot);
  }
};

void solve(const DeviceCsr& csr, const kernels::AlsHalfStepArgs& step, float* x, int* failures,
           const SolveWorkspace& ws, cudaStream_t stream) {
  kernels::als_solve_rows(csr.ptr.data(), csr.col.data(), csr.confidence.data(), csr.preference.data(), step, csr.rows,
                          x, failures, ws.slots.data(), ws.count, stream);
  MARQUEE_CUDA_CHECK(cudaGetLastError());
}

kernels::AlsHalfStepArgs step_args(const float* y, const float* gram, size_t y_rows, int factors, const AlsOptions& o) {
  kernels::AlsHalfStepArgs a;
  a.y = y;
  a.gram = gram;
  a.factors = factors;
  a.y_rows = y_rows;
  a.lambda = o.regularization;
  a.unobserved_weight = o.unobserved_weight;
  a.reg_exponent = o.reg_exponent;
  return a;
}

}  // namespace

bool als_available() { return true; }

AlsModel train_als(size_t users, size_t titles, const std::vector<Interaction>& interactions, const AlsOptions& o,
                   const std::function<void(size_t)>& progress, int device) {
  check_als_arguments(users, titles, interactions, o);
  MARQUEE_CHECK_ARG(o.factors <= size_t(kernels::kAlsMaxFactors), "GPU ALS supports up to {} factors; got {}",
                    kernels::kAlsMaxFactors, o.factors);
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
  DeviceBuffer<float> gram(size_t(f) * f);
  DeviceBuffer<int> failures(1);
  const SolveWorkspace ws(f, device);
  MARQUEE_CUDA_CHECK(cudaMemsetAsync(failures.data(), 0, sizeof(int), stream.get()));

  // solved = the rows of csr against `fixed` (other_rows x f)
  auto half_step = [&](const DeviceCsr& csr, const DeviceBuffer<float>& fixed, size_t other_rows,
                       DeviceBuffer<float>& solved) {
    const float w0 = o.unobserved_weight, zero = 0.0f;
    // Row-major fixed (other_rows x f) is column-major f x other_rows: gram = w0 fixed_cm fixed_cm^T.
    MARQUEE_CUBLAS_CHECK(cublasSgemm(cublas.get(), CUBLAS_OP_N, CUBLAS_OP_T, f, f, int(other_rows), &w0, fixed.data(),
                                     f, fixed.data(), f, &zero, gram.data(), f));
    solve(csr, step_args(fixed.data(), gram.data(), other_rows, f, o), solved.data(), failures.data(), ws,
          stream.get());
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

namespace {

// The fold-in twin's state: the title side on the device, kept while the half-step stays the same.
class DeviceRowSolver {
 public:
  explicit DeviceRowSolver(int device) : device_(device) {}

  void operator()(const AlsHalfStep& step, const AlsCsr& rows, float* x) {
    const std::lock_guard<std::mutex> lock(mutex_);
    MARQUEE_CHECK_ARG(step.factors <= size_t(kernels::kAlsMaxFactors), "GPU fold-in supports up to {} factors; got {}",
                      kernels::kAlsMaxFactors, step.factors);
    MARQUEE_CUDA_CHECK(cudaSetDevice(device_));
    const int f = int(step.factors);
    if (!stream_) {
      stream_.emplace();
      failures_ = DeviceBuffer<int>(1);
    }
    cudaStream_t s = stream_->get();
    // A new step (another model, or the same address reused) is told by its title side and Gram matrix.
    if (step.y != host_y_ || step.y_rows != y_rows_ || step.factors != factors_ || step.gram != host_gram_) {
      y_ = upload(step.y, step.y_rows * step.factors, s);
      gram_ = upload(step.gram, s);
      ws_.emplace(f, device_);
      host_y_ = step.y;
      host_gram_ = step.gram;
      y_rows_ = step.y_rows;
      factors_ = step.factors;
    }
    AlsOptions o;
    o.regularization = step.lambda;
    o.unobserved_weight = step.unobserved_weight;
    o.reg_exponent = step.reg_exponent;
    const DeviceCsr d = upload(rows, s);
    DeviceBuffer<float> out(std::max<size_t>(d.rows * step.factors, 1));
    MARQUEE_CUDA_CHECK(cudaMemsetAsync(failures_.data(), 0, sizeof(int), s));
    solve(d, step_args(y_.data(), gram_.data(), step.y_rows, f, o), out.data(), failures_.data(), *ws_, s);
    int failed = 0;
    MARQUEE_CUDA_CHECK(cudaMemcpyAsync(&failed, failures_.data(), sizeof(int), cudaMemcpyDeviceToHost, s));
    MARQUEE_CUDA_CHECK(
        cudaMemcpyAsync(x, out.data(), d.rows * step.factors * sizeof(float), cudaMemcpyDeviceToHost, s));
    stream_->sync();
    MARQUEE_ASSERT(failed == 0);  // lambda > 0 keeps every system positive definite
  }

 private:
  int device_;
  std::mutex mutex_;
  std::optional<Stream> stream_;
  DeviceBuffer<float> y_, gram_;
  DeviceBuffer<int> failures_;
  std::optional<SolveWorkspace> ws_;
  const float* host_y_ = nullptr;
  std::vector<float> host_gram_;
  size_t y_rows_ = 0, factors_ = 0;
};

}  // namespace

AlsRowSolver make_als_row_solver(int device) {
  require_device(device, "GPU fold-in");
  auto solver = std::make_shared<DeviceRowSolver>(device);
  return [solver](const AlsHalfStep& step, const AlsCsr& rows, float* x) { (*solver)(step, rows, x); };
}

}  // namespace marquee::cuda
