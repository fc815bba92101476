// Small element-wise kernels of the scoring pipeline: exclusions, precision conversion, and the
// artwork choice for the selected titles.
#include "kernels/artwork_kernels.cuh"
#include "kernels/select_k.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace marquee::kernels {
namespace {

// One warp per row: exclusion lists are short (tens to hundreds of titles), a warp scans one.
__global__ void exclusions_kernel(float* tile, size_t ld, size_t rows, size_t cols, uint32_t first_title,
                                  const uint64_t* offsets, const uint32_t* titles) {
  const size_t warp = (size_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (warp >= rows) return;
  const uint64_t end = offsets[warp + 1];
  for (uint64_t i = offsets[warp] + lane; i < end; i += 32) {
    const uint32_t t = titles[i];
    if (t >= first_title && t - first_title < cols) tile[warp * ld + (t - first_title)] = -INFINITY;
  }
}

__global__ void to_bf16_kernel(const float* in, __nv_bfloat16* out, size_t n) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = __float2bfloat16(in[i]);
}

__global__ void to_f16_kernel(const float* in, __half* out, size_t n) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = __float2half(in[i]);
}

// One thread per (user, rank): a title has a handful of variants of tens of tags, so a pair is a
// few dozen FMAs; consecutive threads share a user, whose vector then sits in L1/L2. The sum runs
// in CSR order with fmaf, exactly as engine/artwork.cpp does, so both pick the same variant.
__global__ void choose_artwork_kernel(const float* __restrict__ users, size_t dim, const uint32_t* __restrict__ titles,
                                      const uint32_t* __restrict__ counts, size_t rows, size_t k, ArtworkView art,
                                      uint32_t* __restrict__ chosen) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * k) return;
  const size_t u = i / k, r = i % k;
  uint32_t best = UINT32_MAX;
  if (r < counts[u]) {
    const float* user = users + u * dim;
    const uint32_t t = titles[i];
    float best_score = 0.0f;
    for (uint32_t v = art.title_ptr[t]; v < art.title_ptr[t + 1]; ++v) {
      float s = 0.0f;
      for (uint64_t p = art.row_ptr[v]; p < art.row_ptr[v + 1]; ++p) s = fmaf(__ldg(user + art.col_idx[p]), art.values[p], s);
      if (best == UINT32_MAX || s > best_score) {  // strict: a tie keeps the earlier variant
        best = v;
        best_score = s;
      }
    }
  }
  chosen[i] = best;
}

unsigned blocks_for(size_t n, int threads) { return unsigned((n + threads - 1) / threads); }

}  // namespace

void apply_exclusions(float* tile, size_t ld, size_t rows, size_t cols, uint32_t first_title, const uint64_t* offsets,
                      const uint32_t* titles, cudaStream_t stream) {
  if (rows == 0) return;
  exclusions_kernel<<<blocks_for(rows * 32, 256), 256, 0, stream>>>(tile, ld, rows, cols, first_title, offsets, titles);
}

void choose_artwork(const float* users, size_t dim, const uint32_t* titles, const uint32_t* counts, size_t rows,
                    size_t k, ArtworkView artwork, uint32_t* chosen, cudaStream_t stream) {
  if (rows == 0 || k == 0) return;
  choose_artwork_kernel<<<blocks_for(rows * k, 256), 256, 0, stream>>>(users, dim, titles, counts, rows, k, artwork,
                                                                       chosen);
}

void convert_f32_to_bf16(const float* in, void* out, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  to_bf16_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(in, static_cast<__nv_bfloat16*>(out), n);
}

void convert_f32_to_f16(const float* in, void* out, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  to_f16_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(in, static_cast<__half*>(out), n);
}

}  // namespace marquee::kernels
