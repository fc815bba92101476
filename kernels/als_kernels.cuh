// Device half-step of implicit ALS (engine/als.h): one thread block per row builds that row's
// f x f system in shared memory and solves it exactly by Cholesky, the same algorithm as the CPU
// trainer (LAPACK sposv), so the two agree within float tolerance.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace marquee::kernels {

constexpr int kAlsMaxFactors = 96;  // f x (f | 1) + 2f floats of shared memory per block stay under 48 KiB

/// For every row r < rows: x_r = (YtY + lambda I + sum_p (c_p - 1) y_p y_p^T)^-1 sum_p c_p pref_p y_p,
/// p over [ptr[r], ptr[r+1]) with y_p = Y[col[p]]; rows without interactions get x_r = 0.
/// Rows whose system is not positive definite set *failures (never with lambda > 0).
void als_solve_rows(const uint64_t* ptr, const uint32_t* col, const float* confidence, const float* preference,
                    const float* y, const float* yty, int factors, float lambda, size_t rows, float* x,
                    int* failures, cudaStream_t stream);

}  // namespace marquee::kernels
