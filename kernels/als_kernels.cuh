// Device half-step of implicit ALS (engine/als.h): one thread block per row builds that row's
// f x f system and solves it exactly by Cholesky, the same algorithm as the CPU trainer (LAPACK
// sposv), so the two agree within float tolerance. The system lives in shared memory while it fits
// (up to ~230 factors with the opt-in limit of sm_80+); larger ones use one global-memory slot per
// resident block, the blocks then striding over the rows.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace marquee::kernels {

constexpr int kAlsMaxFactors = 1024;  // one thread per factor, at most a block's 1024 threads

/// Floats of one row's system (f x (f | 1): an odd stride, see als_kernels.cu).
size_t als_system_floats(int factors);

/// The fixed side of the half-step (engine/als.h AlsHalfStep): gram = w0 Y^T Y (f x f), Y with
/// y_rows rows, lambda_u = lambda (n_u + w0 y_rows)^nu (nu = 0: lambda).
struct AlsHalfStepArgs {
  const float* y = nullptr;
  const float* gram = nullptr;
  int factors = 0;
  size_t y_rows = 0;
  float lambda = 0, unobserved_weight = 1, reg_exponent = 0;
};

/// For every row r < rows: x_r = (gram + lambda_r I + sum_p (c_p - w0) y_p y_p^T)^-1 sum_p c_p pref_p y_p,
/// p over [ptr[r], ptr[r+1]) with y_p = Y[col[p]]; rows without interactions get x_r = 0.
/// Rows whose system is not positive definite get zeros and count in *failures (never with lambda > 0
/// and w0 <= 1 + alpha min |w|).
/// `workspace` (slots x als_system_floats(f) floats) is needed only when the system does not fit in
/// shared memory (als_needs_workspace); then at most `slots` blocks run, striding over the rows.
void als_solve_rows(const uint64_t* ptr, const uint32_t* col, const float* confidence, const float* preference,
                    const AlsHalfStepArgs& step, size_t rows, float* x, int* failures, float* workspace, size_t slots,
                    cudaStream_t stream);

/// Whether f factors need the global-memory workspace on the current device.
bool als_needs_workspace(int factors);

}  // namespace marquee::kernels
