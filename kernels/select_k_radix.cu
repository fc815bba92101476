// Radix path of select_k (any K) and the final per-row sort: see select_k.cuh.
#include "kernels/detail/select_common.cuh"
#include "kernels/select_k.cuh"

#include <cub/device/device_segmented_radix_sort.cuh>

#include <stdexcept>
#include <string>

namespace marquee::kernels {
namespace {

using detail::rank_key;

constexpr int kThreads = 256;

struct RowView {
  const float* kept_scores;
  const uint32_t* kept_titles;
  int kept;
  const float* tile;
  int cols;
  uint32_t first_title;

  __device__ int size() const { return kept + cols; }
  /// Element i of (kept entries ++ tile row).
  __device__ void get(int i, float& s, uint32_t& t) const {
    if (i < kept) {
      s = kept_scores[i];
      t = kept_titles[i];
    } else {
      s = tile[i - kept];
      t = first_title + uint32_t(i - kept);
    }
  }
};

// One block per row. Keys are unique (rank_key folds the title in), so the K-th best key T is
// unique and the selection is exactly {key >= T}: no tie handling. T is found digit by digit from
// the most significant byte; `prefix`/`mask` hold the digits fixed so far and `need` how many of
// the still-matching elements must be taken. If a whole bin is needed, the search stops early.
__global__ void __launch_bounds__(kThreads)
    radix_select_kernel(const float* __restrict__ tile, size_t ld, int cols, uint32_t first_title, int k,
                        TopKState in, TopKState out) {
  __shared__ int hist[256];
  __shared__ uint64_t s_prefix, s_mask;
  __shared__ int s_need, s_written;
  const int tid = threadIdx.x;
  const int lane = tid & 31;
  const size_t row = blockIdx.x;
  const size_t base = row * size_t(k);
  const RowView v{in.scores + base, in.titles + base, int(in.counts[row]), tile + row * ld, cols, first_title};
  const int n = v.size();

  __shared__ int s_valid;
  if (tid == 0) {
    s_valid = 0;
    s_prefix = 0;
    s_mask = 0;
    s_need = k;
    s_written = 0;
  }
  __syncthreads();
  int local = 0;
  for (int i = tid; i < n; i += kThreads) {
    float s;
    uint32_t t;
    v.get(i, s, t);
    local += detail::selectable(s);
  }
  atomicAdd(&s_valid, local);
  __syncthreads();

  if (s_valid > k) {
    for (int shift = 56; shift >= 0; shift -= 8) {
      for (int b = tid; b < 256; b += kThreads) hist[b] = 0;
      __syncthreads();
      const uint64_t prefix = s_prefix, mask = s_mask;
      // The trip count is warp-uniform (i0 is the warp's first index), so all 32 lanes reach the
      // match below; lanes past the end or filtered out carry bin -1 and add nothing.
      for (int i0 = tid - lane; i0 < n; i0 += kThreads) {
        const int i = i0 + lane;
        int bin = -1;
        if (i < n) {
          float s;
          uint32_t t;
          v.get(i, s, t);
          const uint64_t key = rank_key(s, t);
          if (detail::selectable(s) && (key & mask) == prefix) bin = int((key >> shift) & 0xff);
        }
        // Warp-aggregated: the lanes of one bin add their count once, through their lowest lane.
        // Scores share their exponent, so most of a warp lands in one or two bins.
        const unsigned peers = __match_any_sync(0xffffffffu, bin);
        if (bin >= 0 && lane == __ffs(peers) - 1) atomicAdd(&hist[bin], __popc(peers));
      }
      __syncthreads();
      if (tid == 0) {
        int need = s_need, b = 255;
        while (hist[b] < need) need -= hist[b--];  // bins above b are taken whole
        s_need = need;
        s_prefix = prefix | (uint64_t(b) << shift);
        s_mask = mask | (uint64_t(0xff) << shift);
        if (hist[b] == need) s_need = 0;  // the whole bin is taken: T's lower digits do not matter
      }
      __syncthreads();
      if (s_need == 0) break;
    }
  }

  // Gather: with s_valid <= k everything selectable; otherwise exactly the k keys with
  // (key & mask) >= prefix.
  const bool take_all = s_valid <= k;
  const uint64_t prefix = s_prefix, mask = s_mask;
  for (int i = tid; i < n; i += kThreads) {
    float s;
    uint32_t t;
    v.get(i, s, t);
    if (!detail::selectable(s)) continue;
    if (take_all || (rank_key(s, t) & mask) >= prefix) {
      const int pos = atomicAdd(&s_written, 1);
      out.scores[base + pos] = s;
      out.titles[base + pos] = t;
    }
  }
  __syncthreads();
  if (tid == 0) out.counts[row] = uint32_t(s_written);
}

__global__ void clear_counts_kernel(uint32_t* counts, size_t rows) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < rows) counts[i] = 0;
}

// Rows -> rank keys (padding slots get key 0, which sorts last), plus segment bounds.
__global__ void pack_keys_kernel(TopKState state, size_t rows, size_t k, uint64_t* keys, int* begin, int* end) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * k) return;
  const size_t row = i / k, slot = i % k;
  keys[i] = slot < state.counts[row] ? rank_key(state.scores[i], state.titles[i]) : 0;
  if (slot == 0) {
    begin[row] = int(row * k);
    end[row] = int(row * k + state.counts[row]);
  }
}

__global__ void unpack_keys_kernel(const uint64_t* keys, size_t rows, size_t k, TopKState state) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * k) return;
  if (i % k < state.counts[i / k]) {
    state.scores[i] = detail::key_score(keys[i]);
    state.titles[i] = detail::key_title(keys[i]);
  }
}

unsigned blocks_for(size_t n, int threads) { return unsigned((n + threads - 1) / threads); }

size_t cub_sort_bytes(size_t rows, size_t k) {
  size_t bytes = 0;
  cub::DeviceSegmentedRadixSort::SortKeysDescending(nullptr, bytes, static_cast<const uint64_t*>(nullptr),
                                                     static_cast<uint64_t*>(nullptr), int(rows * k), int(rows),
                                                     static_cast<const int*>(nullptr), static_cast<const int*>(nullptr));
  return bytes;
}

size_t align_up(size_t n) { return (n + 255) & ~size_t(255); }

// Sizes are checked on the host before any launch: the kernels index a row's (kept ++ tile) entries
// with int, and CUB's segmented sort counts items and segment offsets with int.
void check_rows_times_k(const char* where, size_t rows, size_t k) {
  if (rows > select_k_max_rows(k))
    throw std::invalid_argument(std::string(where) + ": " + std::to_string(rows) + " rows x k = " + std::to_string(k) +
                                " exceeds " + std::to_string(kSelectMaxElements) +
                                " entries (32-bit segment offsets); select fewer rows at a time");
}

}  // namespace

void select_k_merge_block(const float* tile, size_t ld, size_t rows, size_t cols, uint32_t first_title, size_t k,
                          TopKState in, TopKState out, cudaStream_t stream);

void topk_state_clear(TopKState state, size_t rows, cudaStream_t stream) {
  if (rows == 0) return;
  clear_counts_kernel<<<blocks_for(rows, 256), 256, 0, stream>>>(state.counts, rows);
}

void select_k_merge(SelectAlgo algo, const float* tile, size_t ld, size_t rows, size_t cols, uint32_t first_title,
                    size_t k, TopKState in, TopKState out, cudaStream_t stream) {
  if (rows == 0) return;
  if (k == 0 || k > kSelectMaxElements || cols > kSelectMaxElements - k || rows > kSelectMaxElements)
    throw std::invalid_argument("select_k_merge: k = " + std::to_string(k) + " plus a tile of " + std::to_string(cols) +
                                " columns over " + std::to_string(rows) + " rows exceeds " +
                                std::to_string(kSelectMaxElements) + " (32-bit indexing)");
  if (cols > size_t(detail::kNoTitle) - first_title)
    throw std::invalid_argument("select_k_merge: titles past " + std::to_string(detail::kNoTitle - 1));
  if (algo == SelectAlgo::Block) {
    if (k > size_t(kBlockSelectMaxK)) throw std::invalid_argument("block select supports K <= 256, got " + std::to_string(k));
    select_k_merge_block(tile, ld, rows, cols, first_title, k, in, out, stream);
    return;
  }
  if (in.scores == out.scores) throw std::invalid_argument("radix select needs distinct input and output states");
  radix_select_kernel<<<unsigned(rows), kThreads, 0, stream>>>(tile, ld, int(cols), first_title, int(k), in, out);
}

size_t select_k_finalize_workspace(size_t rows, size_t k) {
  check_rows_times_k("select_k_finalize", rows, k);
  return 2 * align_up(rows * k * sizeof(uint64_t)) + 2 * align_up(rows * sizeof(int)) + align_up(cub_sort_bytes(rows, k));
}

cudaError_t select_k_finalize(TopKState state, size_t rows, size_t k, void* workspace, size_t workspace_bytes,
                              cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  check_rows_times_k("select_k_finalize", rows, k);
  if (workspace_bytes < select_k_finalize_workspace(rows, k))
    throw std::invalid_argument("select_k_finalize: workspace too small");
  char* p = static_cast<char*>(workspace);
  auto* keys_in = reinterpret_cast<uint64_t*>(p);
  p += align_up(rows * k * sizeof(uint64_t));
  auto* keys_out = reinterpret_cast<uint64_t*>(p);
  p += align_up(rows * k * sizeof(uint64_t));
  auto* begin = reinterpret_cast<int*>(p);
  p += align_up(rows * sizeof(int));
  auto* end = reinterpret_cast<int*>(p);
  p += align_up(rows * sizeof(int));
  size_t temp_bytes = cub_sort_bytes(rows, k);
  pack_keys_kernel<<<blocks_for(rows * k, 256), 256, 0, stream>>>(state, rows, k, keys_in, begin, end);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  err = cub::DeviceSegmentedRadixSort::SortKeysDescending(p, temp_bytes, keys_in, keys_out, int(rows * k), int(rows),
                                                          begin, end, 0, 64, stream);
  if (err != cudaSuccess) return err;
  unpack_keys_kernel<<<blocks_for(rows * k, 256), 256, 0, stream>>>(keys_out, rows, k, state);
  return cudaGetLastError();
}

}  // namespace marquee::kernels
