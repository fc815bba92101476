#include "kernels/kmeans_kernels.cuh"

namespace marquee::kernels {
namespace {

constexpr int kWarp = 32;

// Whether (v, c) beats (best, best_c): larger product, or the same product and a lower centroid.
// c < 0 marks "no centroid yet" (lanes beyond k).
__device__ bool better(float v, int c, float best, int best_c) {
  if (c < 0) return false;
  if (best_c < 0) return true;
  return v > best || (v == best && c < best_c);
}

__global__ void argmax_rows_kernel(const float* __restrict__ scores, size_t rows, size_t k,
                                   int32_t* __restrict__ assign) {
  const size_t row = (size_t(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;  // a whole warp leaves together: rows are per warp
  const float* s = scores + row * k;
  float best = 0.0f;
  int best_c = -1;
  // Each lane walks its columns upwards and keeps strictly larger ones: a tie stays with the lower.
  for (size_t c = lane; c < k; c += kWarp) {
    const float v = s[c];
    if (best_c < 0 || v > best) {
      best = v;
      best_c = int(c);
    }
  }
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const float v = __shfl_down_sync(0xffffffffu, best, offset);
    const int c = __shfl_down_sync(0xffffffffu, best_c, offset);
    if (better(v, c, best, best_c)) {
      best = v;
      best_c = c;
    }
  }
  if (lane == 0) assign[row] = best_c;
}

// Block (c, y): thread j = y * blockDim.x + threadIdx.x sums coordinate j of centroid c's points in
// order (coalesced across threads: one point's row at a time). No atomics: the result is
// deterministic and equal to FAISS's float sums.
__global__ void centroid_means_kernel(const float* __restrict__ x, size_t dim, const int32_t* __restrict__ order,
                                      const int64_t* __restrict__ offsets, float* __restrict__ means,
                                      float* __restrict__ counts) {
  const size_t c = blockIdx.x;
  const size_t j = size_t(blockIdx.y) * blockDim.x + threadIdx.x;
  const int64_t begin = offsets[c], end = offsets[c + 1];
  if (j == 0) counts[c] = float(end - begin);
  if (j >= dim) return;
  float sum = 0.0f;
  for (int64_t p = begin; p < end; ++p) sum = __fadd_rn(sum, x[size_t(order[p]) * dim + j]);
  if (end > begin) {
    const float norm = __fdiv_rn(1.0f, float(end - begin));
    sum = __fmul_rn(sum, norm);
  }
  means[c * dim + j] = sum;
}

unsigned blocks_for(size_t n, int threads) { return unsigned((n + threads - 1) / threads); }

}  // namespace

void argmax_rows(const float* scores, size_t rows, size_t k, int32_t* assign, cudaStream_t stream) {
  if (rows == 0 || k == 0) return;
  constexpr int kThreads = 256;
  argmax_rows_kernel<<<blocks_for(rows * kWarp, kThreads), kThreads, 0, stream>>>(scores, rows, k, assign);
}

void centroid_means(const float* x, size_t dim, const int32_t* order, const int64_t* offsets, size_t k, float* means,
                    float* counts, cudaStream_t stream) {
  if (k == 0 || dim == 0) return;
  constexpr int kThreads = 128;
  const dim3 grid(unsigned(k), blocks_for(dim, kThreads));
  centroid_means_kernel<<<grid, kThreads, 0, stream>>>(x, dim, order, offsets, means, counts);
}

}  // namespace marquee::kernels
