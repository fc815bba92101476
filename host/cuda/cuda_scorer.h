// Factory of the CUDA scorer (host/cuda/cuda_scorer.cu). Call through engine/backend.h's
// cuda::make_scorer, which checks for a device first.
#pragma once

#include "host/cuda/entry_points.h"

#include <memory>

namespace marquee::cuda {

std::unique_ptr<Scorer> make_cuda_scorer(const TitleMatrix& titles, const CudaScorerOptions& options);

}  // namespace marquee::cuda
