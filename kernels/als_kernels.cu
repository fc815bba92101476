#include "kernels/als_kernels.cuh"

#include <algorithm>

namespace marquee::kernels {
namespace {

// Row stride of the system: odd, so that the f threads walking their own rows (a[t * ld + j],
// same j) hit 32 different banks; with ld = f = 32 or 64 they would all hit one.
__host__ __device__ constexpr int als_row_stride(int f) { return f | 1; }

// Thread t owns row t of the system (t < f). Layout: a[f][ld] (row-major, ld = als_row_stride(f)) in
// shared memory (kGlobal = false) or in this block's workspace slot; yv[f] and b[f] in shared memory.
template <bool kGlobal>
__global__ void als_solve_kernel(const uint64_t* __restrict__ ptr, const uint32_t* __restrict__ col,
                                 const float* __restrict__ confidence, const float* __restrict__ preference,
                                 AlsHalfStepArgs step, size_t rows, float* __restrict__ x, int* failures,
                                 float* workspace) {
  extern __shared__ float shared[];
  const int f = step.factors, ld = als_row_stride(f);
  float* a = kGlobal ? workspace + size_t(blockIdx.x) * size_t(f) * ld : shared;
  float* yv = kGlobal ? shared : shared + f * ld;
  float* b = yv + f;
  __shared__ int bad;
  const int t = threadIdx.x;
  const float w0 = step.unobserved_weight;
  for (size_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const uint64_t begin = ptr[row], end = ptr[row + 1];
    if (begin == end) {  // nothing to learn from
      if (t < f) x[row * f + t] = 0.0f;
      continue;
    }
    __syncthreads();  // the previous row is finished with a, b and bad
    if (t == 0) bad = 0;
    const float reg = step.reg_exponent == 0.0f
                          ? step.lambda
                          : step.lambda * powf(float(end - begin) + w0 * float(step.y_rows), step.reg_exponent);
    if (t < f) {
      for (int j = 0; j < f; ++j) a[t * ld + j] = step.gram[t * f + j];
      a[t * ld + t] += reg;
      b[t] = 0.0f;
    }
    for (uint64_t p = begin; p < end; ++p) {
      __syncthreads();
      if (t < f) yv[t] = step.y[size_t(col[p]) * f + t];
      __syncthreads();
      if (t < f) {
        const float c = confidence[p];
        const float s = (c - w0) * yv[t];
        for (int j = 0; j < f; ++j) a[t * ld + j] += s * yv[j];
        b[t] += c * preference[p] * yv[t];
      }
    }
    // Cholesky A = L L^T in place (lower triangle), one column per step.
    for (int k = 0; k < f; ++k) {
      __syncthreads();
      if (t == 0) {
        const float d = a[k * ld + k];
        if (!(d > 0.0f)) bad = 1;
        a[k * ld + k] = sqrtf(fmaxf(d, 1e-30f));
      }
      __syncthreads();
      if (t > k && t < f) a[t * ld + k] /= a[k * ld + k];
      __syncthreads();
      if (t > k && t < f)
        for (int j = k + 1; j <= t; ++j) a[t * ld + j] -= a[t * ld + k] * a[j * ld + k];
    }
    // Forward substitution L z = b, then back substitution L^T x = z (z kept in b).
    for (int k = 0; k < f; ++k) {
      __syncthreads();
      if (t == 0) b[k] /= a[k * ld + k];
      __syncthreads();
      if (t > k && t < f) b[t] -= a[t * ld + k] * b[k];
    }
    for (int k = f - 1; k >= 0; --k) {
      __syncthreads();
      if (t == 0) b[k] /= a[k * ld + k];
      __syncthreads();
      if (t < k) b[t] -= a[k * ld + t] * b[k];
    }
    __syncthreads();
    if (bad) {
      if (t == 0) atomicAdd(failures, 1);
      if (t < f) x[row * f + t] = 0.0f;
    } else if (t < f) {
      x[row * f + t] = b[t];
    }
  }
}

size_t shared_bytes(int f, bool global) {
  return ((global ? 0 : size_t(f) * als_row_stride(f)) + 2 * size_t(f)) * sizeof(float);
}

int max_shared_bytes() {
  int device = 0, optin = 0;
  cudaGetDevice(&device);
  if (cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) != cudaSuccess) optin = 48 << 10;
  return std::max(optin, 48 << 10);
}

}  // namespace

size_t als_system_floats(int factors) { return size_t(factors) * als_row_stride(factors); }

bool als_needs_workspace(int factors) { return shared_bytes(factors, false) > size_t(max_shared_bytes()); }

void als_solve_rows(const uint64_t* ptr, const uint32_t* col, const float* confidence, const float* preference,
                    const AlsHalfStepArgs& step, size_t rows, float* x, int* failures, float* workspace, size_t slots,
                    cudaStream_t stream) {
  if (rows == 0) return;
  const int threads = (step.factors + 31) / 32 * 32;
  constexpr size_t kMaxGrid = size_t(1) << 30;
  if (!als_needs_workspace(step.factors)) {
    const size_t shared = shared_bytes(step.factors, false);
    if (shared > (48u << 10))  // above the default limit: opt in (the launch then checks the size)
      cudaFuncSetAttribute(als_solve_kernel<false>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared));
    const unsigned grid = unsigned(std::min(rows, kMaxGrid));
    als_solve_kernel<false><<<grid, threads, shared, stream>>>(ptr, col, confidence, preference, step, rows, x,
                                                               failures, nullptr);
  } else {
    const unsigned grid = unsigned(std::min({rows, slots, kMaxGrid}));
    als_solve_kernel<true><<<grid, threads, shared_bytes(step.factors, true), stream>>>(
        ptr, col, confidence, preference, step, rows, x, failures, workspace);
  }
}

}  // namespace marquee::kernels
