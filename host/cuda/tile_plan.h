// How many users the CUDA scorer puts in one tile (host/cuda/cuda_scorer.cu): pure arithmetic on
// sizes, no CUDA, so that CPU tests check it (tests/test_cuda_host.cpp).
#pragma once

#include "engine/error.h"
#include "kernels/select_k_limits.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace marquee::cuda {

struct TilePlanInput {
  size_t users = 0;            // users in the batch
  size_t k = 0;                // results per user
  bool radix = false;          // the radix selection path (two states and the finalize workspace)
  bool half_storage = false;   // bf16/fp16 copies of the users beside the fp32 upload
  size_t dim = 0;              // vector dimension
  size_t num_titles = 0;       // the resident title matrix's rows
  size_t titles_per_tile = 0;  // W, already clamped to num_titles
  size_t max_users_per_tile = 0;
  size_t exclusions = 0;  // excluded titles in the batch (their device copy is per tile)
  size_t lanes = 2;
  size_t memory_budget = 0;  // --gpu-memory: bytes for the title matrix and the workspaces; 0 = auto
  // Auto budget only (memory_budget == 0): cudaMemGetInfo's free bytes, measured with the title
  // matrix already resident, and the device bytes the lanes already hold (theirs to reuse).
  size_t free_bytes = 0;
  size_t held_bytes = 0;
};

struct TilePlan {
  size_t users_per_tile = 0;
  size_t resident_bytes = 0;   // the title matrix on the device
  size_t workspace_bytes = 0;  // what the lanes may use together
  size_t per_user_bytes = 0;   // device bytes one lane needs per user of a tile
};

/// Device bytes one lane needs per user of a tile: the users (fp32, plus the half copy), the score
/// tile, the exclusion offsets and the batch's mean exclusion list, the running top-K state, and on
/// the radix path the second state, the finalize keys (in and out) and CUB's copy of them.
inline size_t tile_bytes_per_user(const TilePlanInput& in) {
  const size_t state = in.k * (sizeof(float) + sizeof(uint32_t)) + sizeof(uint32_t);
  const size_t mean_exclusions = in.users == 0 ? 0 : (in.exclusions + in.users - 1) / in.users;
  size_t b = in.dim * sizeof(float) + in.titles_per_tile * sizeof(float) + sizeof(uint64_t) +
             mean_exclusions * sizeof(uint32_t) + state;
  if (in.half_storage) b += in.dim * sizeof(uint16_t);
  if (in.radix) b += state + 3 * in.k * sizeof(uint64_t) + 2 * sizeof(int);
  return b;
}

/// Users per tile: as many as the budget holds for every lane, capped by the batch, the option and
/// the selection's 32-bit indexing (users * k <= INT32_MAX). The title matrix is resident before the
/// plan is made, so an explicit budget (which covers it) loses its size, while the auto budget,
/// 80 % of the memory free now (plus what the lanes already hold), does not count it again.
/// Throws ArgumentError when not even one user fits.
inline TilePlan plan_user_tiles(const TilePlanInput& in) {
  TilePlan p;
  p.resident_bytes = in.num_titles * in.dim * (in.half_storage ? 2 : 4);
  p.per_user_bytes = tile_bytes_per_user(in);
  const size_t one_user = in.lanes * p.per_user_bytes;
  if (in.memory_budget > 0) {
    MARQUEE_CHECK_ARG(in.memory_budget >= p.resident_bytes + one_user,
                      "GPU memory budget of {} MiB cannot hold the title matrix ({} MiB) and one user's workspace "
                      "({} KiB)",
                      in.memory_budget >> 20, p.resident_bytes >> 20, one_user >> 10);
    p.workspace_bytes = in.memory_budget - p.resident_bytes;
  } else {
    p.workspace_bytes = (in.free_bytes + in.held_bytes) / 10 * 8;
    MARQUEE_CHECK_ARG(p.workspace_bytes >= one_user,
                      "80 % of the free GPU memory ({} MiB) cannot hold one user's workspace ({} KiB) beside the "
                      "title matrix ({} MiB)",
                      p.workspace_bytes >> 20, one_user >> 10, p.resident_bytes >> 20);
  }
  p.users_per_tile = std::max<size_t>(
      1, std::min({in.users, in.max_users_per_tile, p.workspace_bytes / one_user, kernels::select_k_max_rows(in.k)}));
  return p;
}

}  // namespace marquee::cuda
