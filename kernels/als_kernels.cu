#include "kernels/als_kernels.cuh"

namespace marquee::kernels {
namespace {

// Row stride of the system in shared memory: odd, so that the f threads walking their own rows
// (a[t * ld + j], same j) hit 32 different banks; with ld = f = 32 or 64 they would all hit one.
__host__ __device__ constexpr int als_row_stride(int f) { return f | 1; }

// Thread t owns row t of the system (t < f). Shared layout: a[f][ld] (row-major, ld = als_row_stride(f)),
// yv[f], b[f].
__global__ void als_solve_kernel(const uint64_t* __restrict__ ptr, const uint32_t* __restrict__ col,
                                 const float* __restrict__ confidence, const float* __restrict__ preference,
                                 const float* __restrict__ y, const float* __restrict__ yty, int f, float lambda,
                                 float* __restrict__ x, int* failures) {
  extern __shared__ float shared[];
  const int ld = als_row_stride(f);
  float* a = shared;
  float* yv = a + f * ld;
  float* b = yv + f;
  __shared__ int bad;
  const int t = threadIdx.x;
  const size_t row = blockIdx.x;
  const uint64_t begin = ptr[row], end = ptr[row + 1];
  if (begin == end) {  // nothing to learn from
    if (t < f) x[row * f + t] = 0.0f;
    return;
  }
  if (t == 0) bad = 0;
  if (t < f) {
    for (int j = 0; j < f; ++j) a[t * ld + j] = yty[t * f + j];
    a[t * ld + t] += lambda;
    b[t] = 0.0f;
  }
  for (uint64_t p = begin; p < end; ++p) {
    __syncthreads();
    if (t < f) yv[t] = y[size_t(col[p]) * f + t];
    __syncthreads();
    if (t < f) {
      const float c = confidence[p];
      const float s = (c - 1.0f) * yv[t];
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
    return;
  }
  if (t < f) x[row * f + t] = b[t];
}

}  // namespace

void als_solve_rows(const uint64_t* ptr, const uint32_t* col, const float* confidence, const float* preference,
                    const float* y, const float* yty, int factors, float lambda, size_t rows, float* x,
                    int* failures, cudaStream_t stream) {
  if (rows == 0) return;
  const int threads = (factors + 31) / 32 * 32;
  const size_t shared = (size_t(factors) * als_row_stride(factors) + 2 * size_t(factors)) * sizeof(float);
  als_solve_kernel<<<unsigned(rows), threads, shared, stream>>>(ptr, col, confidence, preference, y, yty, factors,
                                                                lambda, x, failures);
}

}  // namespace marquee::kernels
