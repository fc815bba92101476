// The dense CPU path's micro-kernel: a register block of user x title scores computed over the whole
// dimension and compared with each user's running threshold before it leaves the registers, so the
// selection sees only the rare candidates and no score row is ever written to memory.
//
// Layout (the BLIS/GotoBLAS packing, done once for titles and once per work item for users):
//  - titles in panels of `nr` titles, dimension-major inside a panel: panel p holds titles
//    [p*nr, p*nr + nr) with element (d, j) at p*nr*dim + d*nr + j; the last panel is zero-padded.
//  - users in micro-blocks of `mr` users, the same way: element (d, i) at d*mr + i, zero-padded.
// Chosen once at run time (CPU dispatch): AVX-512 (12 users x 32 titles, 24 accumulators of the 32
// vector registers) where the CPU and OS support it, else AVX2 + FMA (6 x 16, 12 of 16) — the
// build's baseline. Each score is a sequential FMA sum over the dimension, like the naive loop.
#pragma once

#include <cstddef>
#include <cstdint>

namespace marquee::detail {

struct DenseKernel {
  const char* name = "";
  size_t mr = 0;  // users per micro-block
  size_t nr = 0;  // titles per panel (one or two vector registers' worth, times 2)
  /// scores[i*nr + j] = <user i, title j> for the micro-block `users` against `panel`; pass[i] has
  /// bit j set when scores[i*nr + j] >= threshold[i] (never for NaN).
  void (*block)(const float* users, const float* panel, size_t dim, const float* threshold, float* scores,
                uint32_t* pass) = nullptr;
};

DenseKernel dense_kernel_avx2();
DenseKernel dense_kernel_avx512();
bool dense_kernel_avx512_supported();
/// The widest kernel the CPU and OS support.
DenseKernel choose_dense_kernel();

/// Packs `n` rows of `dim` floats (row-major, `rows`) into panels of `width` (layout above);
/// `out` has room for ceil(n / width) * width * dim floats.
void pack_panels(const float* rows, size_t n, size_t dim, size_t width, float* out);

}  // namespace marquee::detail
