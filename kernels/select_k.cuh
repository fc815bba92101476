// Top-K selection on the device, separated from score computation (as FAISS separates WarpSelect
// from distances, and RAFT dispatches select_k by K):
//   - block path, K <= 256: one thread block per row keeps its best P >= K entries in shared memory;
//     a candidate must beat the running K-th best to enter a shared queue, and the queue is merged
//     into the kept entries by a bitonic sort when it fills. After warm-up almost nothing passes.
//   - radix path, any K up to the catalogue size: one block per row finds the K-th best key by an
//     8-bit-digit MSB radix select over (kept entries ++ tile), then gathers the winners; rows are
//     sorted once at the end with CUB's segmented radix sort.
// Both merge a score tile into a running per-row state, so tiles of titles stream through without
// a separate merge step; both order by score descending, then title index ascending; -inf (an
// excluded title) and NaN are never selected.
#pragma once

#include "kernels/select_k_limits.h"

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace marquee::kernels {

constexpr int kBlockSelectMaxK = 256;

enum class SelectAlgo { Block, Radix };

/// Dispatch rule: the block path up to its capacity, the radix path beyond (docs/gpu.md).
inline SelectAlgo choose_select_algo(size_t k) { return k <= size_t(kBlockSelectMaxK) ? SelectAlgo::Block : SelectAlgo::Radix; }

/// Per-row running top-K: row r owns scores/titles[r * k, r * k + counts[r]).
struct TopKState {
  float* scores = nullptr;
  uint32_t* titles = nullptr;
  uint32_t* counts = nullptr;
};

/// Resets `rows` rows to empty.
void topk_state_clear(TopKState state, size_t rows, cudaStream_t stream);

/// Merges tile[rows x cols] (row stride `ld` floats; column j is title first_title + j) into the
/// running state. Titles of earlier tiles must be lower than first_title. `in` and `out` may be the
/// same state for the block path and must differ for the radix path. Block path keeps rows sorted.
/// Throws std::invalid_argument (before any device work) for k + cols or rows beyond
/// kSelectMaxElements, or titles past 2^32 - 2; launch errors are left for cudaGetLastError.
void select_k_merge(SelectAlgo algo, const float* tile, size_t ld, size_t rows, size_t cols, uint32_t first_title,
                    size_t k, TopKState in, TopKState out, cudaStream_t stream);

/// Bytes of scratch select_k_finalize needs for `rows` rows of capacity k. Throws
/// std::invalid_argument when rows * k exceeds kSelectMaxElements (CUB's 32-bit offsets).
size_t select_k_finalize_workspace(size_t rows, size_t k);

/// Sorts each row best first (needed after the radix path; a no-op cost for already sorted rows).
/// `workspace` holds select_k_finalize_workspace(rows, k) bytes. Throws std::invalid_argument (before
/// any device work) when rows * k exceeds kSelectMaxElements or the workspace is too small; returns
/// the first CUDA error of its launches and CUB's sort (check it).
[[nodiscard]] cudaError_t select_k_finalize(TopKState state, size_t rows, size_t k, void* workspace,
                                            size_t workspace_bytes, cudaStream_t stream);

/// tile[r * ld + (t - first_title)] = -inf for every excluded title t of row r inside the tile.
/// Row r's exclusions are titles[offsets[r] .. offsets[r+1]), sorted ascending.
void apply_exclusions(float* tile, size_t ld, size_t rows, size_t cols, uint32_t first_title,
                      const uint64_t* offsets, const uint32_t* titles, cudaStream_t stream);

/// Converts n floats to bf16 (to_bf16) or fp16 storage for reduced-precision GEMMs.
void convert_f32_to_bf16(const float* in, void* out, size_t n, cudaStream_t stream);
void convert_f32_to_f16(const float* in, void* out, size_t n, cudaStream_t stream);

}  // namespace marquee::kernels
