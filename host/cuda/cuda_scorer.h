// Factory of the CUDA scorer (host/cuda/cuda_scorer.cu). Call through engine/backend.h's
// cuda::make_scorer, which checks for a device first.
#pragma once

#include "host/cuda/entry_points.h"

#include <cstddef>
#include <functional>
#include <memory>

namespace marquee::cuda {

/// Where the scorer calls its hook, once per user tile at each.
enum class ScorerHookPoint {
  TileQueued,     // the tile is staged and its uploads queued; its GEMMs are not
  TileCollected,  // the tile's results are in the batch's output
};

/// Fault injection for tests: called with the point and the tile's users [first, first + count). A
/// hook that throws stands for a CUDA or cuBLAS call failing there (tests/test_cuda.cpp).
using ScorerHook = std::function<void(ScorerHookPoint point, size_t first, size_t count)>;

std::unique_ptr<Scorer> make_cuda_scorer(const TitleMatrix& titles, const CudaScorerOptions& options,
                                         ScorerHook hook = {});

}  // namespace marquee::cuda
