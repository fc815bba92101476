// Personalised artwork on the device (docs/artwork.md): for a batch's selected (user, title) pairs
// of the top-K, the inner products of the user's vector with that title's variant vectors (CSR) and
// the best variant, with the CPU's rule (engine/artwork.h): fmaf in CSR order, ties to the variant
// listed first, UINT32_MAX for a title without variants or a rank past the user's result count.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace marquee::kernels {

/// Device view of the artwork variants (engine/artwork.h's Artwork, uploaded).
struct ArtworkView {
  const uint32_t* title_ptr = nullptr;  // titles + 1: title t's variants [title_ptr[t], title_ptr[t+1])
  const uint64_t* row_ptr = nullptr;    // variants + 1
  const uint32_t* col_idx = nullptr;
  const float* values = nullptr;
};

/// chosen[u * k + r] for users u < rows, ranks r < k: users is rows x dim (row-major), titles rows x k
/// (the top-K titles), counts the per-user result counts.
void choose_artwork(const float* users, size_t dim, const uint32_t* titles, const uint32_t* counts, size_t rows,
                    size_t k, ArtworkView artwork, uint32_t* chosen, cudaStream_t stream);

}  // namespace marquee::kernels
