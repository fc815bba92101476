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
//
// BF16 (an option, like the GPU's --gpu-precision bf16): vectors rounded to bfloat16 (nearest even),
// products summed in fp32 by AVX-512 BF16's dot-product instruction, two dimensions per step —
// half the instructions and half the title bytes, at bf16's precision (8 significant bits per
// element). The packed layouts then hold pairs: a float slot carries the bf16 values of dimensions
// 2q and 2q+1 (an odd dimension is padded with a zero), and `slots` = ceil(dim / 2).
#pragma once

#include <cstddef>
#include <cstdint>

namespace marquee::detail {

struct DenseKernel {
  const char* name = "";
  size_t mr = 0;  // users per micro-block
  size_t nr = 0;  // titles per panel (two vector registers' worth)
  bool bf16 = false;  // packed as bf16 pairs (pack_panels' `bf16`)
  /// scores[i*nr + j] = <user i, title j> for the micro-block `users` against `panel`, over `slots`
  /// float slots (dim, or ceil(dim / 2) for bf16); pass[i] has bit j set when scores[i*nr + j] >=
  /// threshold[i] (never for NaN). scores[i*nr..] is written only when pass[i] != 0.
  void (*block)(const float* users, const float* panel, size_t slots, const float* threshold, float* scores,
                uint32_t* pass) = nullptr;

  size_t slots(size_t dim) const { return bf16 ? (dim + 1) / 2 : dim; }
};

DenseKernel dense_kernel_avx2();
DenseKernel dense_kernel_avx512();
DenseKernel dense_kernel_avx512_bf16();
bool dense_kernel_avx512_supported();
bool dense_kernel_avx512_bf16_supported();
/// The widest kernel the CPU and OS support.
DenseKernel choose_dense_kernel();

/// Packs `n` rows of `dim` floats (row-major, `rows`) into panels of `width` (layout above), as
/// floats or as bf16 pairs; `out` has room for ceil(n / width) * width * slots floats.
void pack_panels(const float* rows, size_t n, size_t dim, size_t width, bool bf16, float* out);

/// fp32 -> bf16, round to nearest even (NaN stays NaN): what the BF16 kernel multiplies.
uint16_t to_bf16(float x);
float from_bf16(uint16_t b);

}  // namespace marquee::detail
