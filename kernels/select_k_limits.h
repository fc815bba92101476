// Size limits of the selection kernels (select_k.cuh), in plain C++ so that host planning code and
// CPU-only tests can use them without CUDA headers.
#pragma once

#include <cstddef>
#include <cstdint>

namespace marquee::kernels {

/// CUB's segmented sort in select_k_finalize counts items and segment offsets with int, and the
/// kernels index a row's (kept entries ++ tile) with int: rows * k and k + cols stay <= INT32_MAX.
constexpr size_t kSelectMaxElements = size_t(INT32_MAX);

/// The most rows of capacity k that select_k_finalize takes.
constexpr size_t select_k_max_rows(size_t k) { return k == 0 ? SIZE_MAX : kSelectMaxElements / k; }

}  // namespace marquee::kernels
