// Block path of select_k (K <= 256): see select_k.cuh.
#include "kernels/detail/select_common.cuh"
#include "kernels/select_k.cuh"

namespace marquee::kernels {
namespace {

using detail::better;
using detail::kNoTitle;

/// Sorts sc/ti[0, B) best first with a bitonic network; THREADS threads share the B/2 pairs.
template <int B, int THREADS>
__device__ void bitonic_sort_best_first(float* sc, uint32_t* ti) {
  for (int size = 2; size <= B; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      __syncthreads();
      for (int i = threadIdx.x; i < B / 2; i += THREADS) {
        const int lo = 2 * i - (i & (stride - 1));
        const int hi = lo + stride;
        const float a = sc[lo], b = sc[hi];
        const uint32_t ta = ti[lo], tb = ti[hi];
        // Sub-sequences alternate direction so that each merge sees a bitonic sequence; the last
        // merge (size == B) is best first.
        const bool swap = (lo & size) == 0 ? better(b, tb, a, ta) : better(a, ta, b, tb);
        if (swap) {
          sc[lo] = b;
          sc[hi] = a;
          ti[lo] = tb;
          ti[hi] = ta;
        }
      }
    }
  }
  __syncthreads();
}

// Shared layout: [0, P) the kept entries (sorted best first after every merge), [P, B) the queue of
// candidates that beat the running K-th best. Empty slots hold (-inf, kNoTitle), which loses to
// every selectable entry.
template <int P, int B, int THREADS>
__global__ void __launch_bounds__(THREADS)
    block_select_kernel(const float* __restrict__ tile, size_t ld, int cols, uint32_t first_title, int k,
                        TopKState in, TopKState out) {
  static_assert(P <= THREADS, "one thread per kept entry when counting");
  __shared__ float s_score[B];
  __shared__ uint32_t s_title[B];
  __shared__ int q_count;
  __shared__ float thr_score;
  __shared__ uint32_t thr_title;

  const int tid = threadIdx.x;
  const size_t row = blockIdx.x;
  const size_t base = row * size_t(k);
  const int kept = int(in.counts[row]);
  for (int i = tid; i < B; i += THREADS) {
    const bool have = i < kept;
    s_score[i] = have ? in.scores[base + i] : -INFINITY;
    s_title[i] = have ? in.titles[base + i] : kNoTitle;
  }
  if (tid == 0) {
    q_count = 0;
    thr_score = kept >= k ? in.scores[base + k - 1] : -INFINITY;
    thr_title = kept >= k ? in.titles[base + k - 1] : kNoTitle;
  }
  __syncthreads();

  auto merge = [&]() {
    bitonic_sort_best_first<B, THREADS>(s_score, s_title);
    for (int i = P + tid; i < B; i += THREADS) {
      s_score[i] = -INFINITY;
      s_title[i] = kNoTitle;
    }
    if (tid == 0) {
      q_count = 0;
      thr_score = s_score[k - 1];
      thr_title = s_title[k - 1];
    }
    __syncthreads();
  };

  const float* row_scores = tile + row * ld;
  for (int start = 0; start < cols; start += THREADS) {
    // Whether to merge must be one decision for the whole block (merge() holds barriers), so every
    // thread reads the queue length into a register and the barrier below keeps this pass's
    // atomicAdd(&q_count) from running until all have read it. Without it a late warp could see
    // other warps' increments, merge alone, and pair its barriers with theirs wrongly: a hang, or
    // lost or duplicated entries, whenever a queue nears its limit (every row of a first tile,
    // whose threshold is -inf).
    const int queued = q_count;
    __syncthreads();
    if (queued + THREADS > B - P) merge();
    const int j = start + tid;
    if (j < cols) {
      const float s = row_scores[j];
      const uint32_t t = first_title + uint32_t(j);
      if (detail::selectable(s) && better(s, t, thr_score, thr_title)) {
        const int pos = atomicAdd(&q_count, 1);
        s_score[P + pos] = s;
        s_title[P + pos] = t;
      }
    }
    __syncthreads();
  }
  if (q_count > 0) merge();

  const int count = __syncthreads_count(tid < k && s_title[tid] != kNoTitle);
  for (int i = tid; i < k; i += THREADS) {
    out.scores[base + i] = s_score[i];
    out.titles[base + i] = s_title[i];
  }
  if (tid == 0) out.counts[row] = uint32_t(count);
}

template <int P>
void launch_block_select(const float* tile, size_t ld, size_t rows, size_t cols, uint32_t first_title, size_t k,
                         TopKState in, TopKState out, cudaStream_t stream) {
  constexpr int kThreads = 256;
  constexpr int kBuffer = P >= 256 ? 1024 : 512;  // queue room: B - P >= 256 slots between merges
  block_select_kernel<P, kBuffer, kThreads>
      <<<unsigned(rows), kThreads, 0, stream>>>(tile, ld, int(cols), first_title, int(k), in, out);
}

}  // namespace

void select_k_merge_block(const float* tile, size_t ld, size_t rows, size_t cols, uint32_t first_title, size_t k,
                          TopKState in, TopKState out, cudaStream_t stream) {
  if (rows == 0) return;
  if (k <= 32) launch_block_select<32>(tile, ld, rows, cols, first_title, k, in, out, stream);
  else if (k <= 64) launch_block_select<64>(tile, ld, rows, cols, first_title, k, in, out, stream);
  else if (k <= 128) launch_block_select<128>(tile, ld, rows, cols, first_title, k, in, out, stream);
  else launch_block_select<256>(tile, ld, rows, cols, first_title, k, in, out, stream);
}

}  // namespace marquee::kernels
