// Device side of GPU spherical k-means (host/cuda/cuda_kmeans.cu sequences these with cuBLAS and
// Thrust): the argmax of each point's row of centroid products, and the per-centroid means of the
// points, summed in float in point order exactly as FAISS's compute_centroids does.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace marquee::kernels {

/// assign[i] = argmax over c < k of scores[i * k + c] (ties: the lower c), for i < rows. One warp
/// per row.
void argmax_rows(const float* scores, size_t rows, size_t k, int32_t* assign, cudaStream_t stream);

/// For each centroid c < k, over p in [offsets[c], offsets[c + 1]): means[c] = (sum of the rows
/// x[order[p]], summed in float in p order) * (1 / count) and counts[c] = count, as floats; a
/// centroid without points gets a zero row and count 0. x is row-major (points x dim).
void centroid_means(const float* x, size_t dim, const int32_t* order, const int64_t* offsets, size_t k, float* means,
                    float* counts, cudaStream_t stream);

}  // namespace marquee::kernels
