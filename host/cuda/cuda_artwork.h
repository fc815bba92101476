// Factory of the CUDA artwork chooser (host/cuda/cuda_artwork.cu). Call through engine/backend.h's
// cuda::make_artwork_chooser, which checks for a device first.
#pragma once

#include "host/cuda/entry_points.h"

#include <memory>

namespace marquee::cuda {

std::unique_ptr<ArtworkChooser> make_cuda_artwork_chooser(const Artwork& artwork, int device);

}  // namespace marquee::cuda
