// The CUDA scorer: exact (fp32) or reduced-precision inner-product top-K with exclusions, in
// bounded device memory.
//
// The title matrix is uploaded once. Users stream through in tiles of U users; each tile is
// scored against the catalogue in tiles of W titles with cuBLAS (C[U x W] = users x titles^T),
// excluded titles are set to -inf on the device, and each score tile is merged straight into a
// running per-user top-K (kernels/select_k.cuh), so the full users x titles matrix never exists.
// Two lanes (a stream plus its own pinned and device buffers each) alternate user tiles: while one
// lane computes, the other uploads its next tile or downloads its results. Which lane holds which
// tile is LanePipeline's (host/cuda/lane_pipeline.h), exception-safe and tested without a device;
// the tile size is plan_user_tiles' (host/cuda/tile_plan.h).
#include "host/cuda/entry_points.h"
#include "engine/error.h"
#include "host/cuda/cublas_handle.h"
#include "host/cuda/cuda_scorer.h"
#include "host/cuda/device_resources.h"
#include "host/cuda/lane_pipeline.h"
#include "host/cuda/tile_plan.h"
#include "kernels/select_k.cuh"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <utility>

namespace marquee::cuda {
namespace {

using kernels::SelectAlgo;
using kernels::TopKState;

bool half_storage(GpuPrecision p) { return p == GpuPrecision::Bf16 || p == GpuPrecision::Fp16; }

struct StateBuffers {
  DeviceBuffer<float> scores;
  DeviceBuffer<uint32_t> titles;
  DeviceBuffer<uint32_t> counts;
  void reserve(size_t users, size_t k) {
    scores.reserve(users * k);
    titles.reserve(users * k);
    counts.reserve(users);
  }
  TopKState view() const { return TopKState{scores.data(), titles.data(), counts.data()}; }
};

// Everything one user tile needs; kLanes of these alternate.
constexpr size_t kLanes = 2;
struct Lane {
  Stream stream;
  CublasHandle cublas;  // one per stream: a handle's workspace must not be shared by concurrent streams
  DeviceBuffer<float> users;
  DeviceBuffer<uint16_t> users_half;
  DeviceBuffer<float> tile;
  DeviceBuffer<uint64_t> excl_offsets;
  DeviceBuffer<uint32_t> excl_titles;
  StateBuffers state[2];
  DeviceBuffer<char> workspace;
  PinnedBuffer<float> h_users;
  PinnedBuffer<uint64_t> h_excl_offsets;
  PinnedBuffer<uint32_t> h_excl_titles;
  PinnedBuffer<float> h_scores;
  PinnedBuffer<uint32_t> h_titles;
  PinnedBuffer<uint32_t> h_counts;

  /// Device bytes held (reused by the next tile, so available to the plan).
  size_t device_bytes() const {
    size_t b = users.size() * sizeof(float) + users_half.size() * sizeof(uint16_t) + tile.size() * sizeof(float) +
               excl_offsets.size() * sizeof(uint64_t) + excl_titles.size() * sizeof(uint32_t) + workspace.size();
    for (const auto& st : state)
      b += st.scores.size() * sizeof(float) + (st.titles.size() + st.counts.size()) * sizeof(uint32_t);
    return b;
  }

  /// Frees the device buffers (after an out-of-memory failure, before retrying smaller).
  void release_device() {
    users = {};
    users_half = {};
    tile = {};
    excl_offsets = {};
    excl_titles = {};
    for (auto& st : state) st = {};
    workspace = {};
  }

  /// Waits for whatever the lane has queued, results unused; errors were or will be reported by the
  /// call that failed.
  void drain() noexcept {
    cudaStreamSynchronize(stream.get());
    cudaGetLastError();
  }
};

}  // namespace

class CudaScorer final : public Scorer {
 public:
  CudaScorer(const TitleMatrix& titles, const CudaScorerOptions& options, ScorerHook hook)
      : options_(options), hook_(std::move(hook)), num_titles_(titles.num_titles()), dim_(titles.dim()) {
    MARQUEE_CHECK_ARG(options.titles_per_tile >= 1 && options.max_users_per_tile >= 1,
                      "GPU tile sizes must be at least 1");
    MARQUEE_CUDA_CHECK(cudaSetDevice(options.device));
    cudaDeviceProp prop{};
    MARQUEE_CUDA_CHECK(cudaGetDeviceProperties(&prop, options.device));
    device_name_ = prop.name;
    titles_ = DeviceBuffer<float>(num_titles_ * dim_);
    MARQUEE_CUDA_CHECK(cudaMemcpy(titles_.data(), titles.dense().data(), num_titles_ * dim_ * sizeof(float),
                                  cudaMemcpyHostToDevice));
    if (half_storage(options.precision)) {
      titles_half_ = DeviceBuffer<uint16_t>(num_titles_ * dim_);
      convert(titles_.data(), titles_half_.data(), num_titles_ * dim_, nullptr);
      MARQUEE_CUDA_CHECK(cudaGetLastError());
      MARQUEE_CUDA_CHECK(cudaDeviceSynchronize());
      titles_ = DeviceBuffer<float>();  // the fp32 copy is not needed any more
    }
    lanes_ = std::make_unique<std::array<Lane, kLanes>>();  // streams and handles belong to the current device
    for (auto& lane : *lanes_) {
      MARQUEE_CUBLAS_CHECK(cublasSetStream(lane.cublas.get(), lane.stream.get()));
      MARQUEE_CUBLAS_CHECK(cublasSetMathMode(lane.cublas.get(), options.precision == GpuPrecision::Tf32
                                                                      ? CUBLAS_TF32_TENSOR_OP_MATH
                                                                      : CUBLAS_DEFAULT_MATH));
    }
  }

  std::string describe() const override {
    return fmt::format("cuda ({}, {}, {} titles resident)", device_name_, gpu_precision_name(options_.precision),
                       num_titles_);
  }
  size_t num_titles() const override { return num_titles_; }
  size_t dim() const override { return dim_; }

  void search(const UserBatchView& batch, size_t k, TopKResult& out) override {
    check_search_args(batch, k);
    out.resize(batch.count, k);
    if (batch.count == 0) return;
    MARQUEE_CUDA_CHECK(cudaSetDevice(options_.device));
    const SelectAlgo algo = kernels::choose_select_algo(k);
    size_t users_per_tile = plan(batch, k, algo).users_per_tile;
    // Out of memory: retry with smaller user tiles before giving up.
    for (;;) {
      try {
        run(batch, k, algo, users_per_tile, out);
        return;
      } catch (const DeviceOutOfMemory&) {
        cudaDeviceSynchronize();
        for (auto& lane : *lanes_) lane.release_device();
        if (users_per_tile == 1) throw;
        users_per_tile /= 2;
      }
    }
  }

 private:
  size_t titles_per_tile() const { return std::min(options_.titles_per_tile, num_titles_); }

  TilePlan plan(const UserBatchView& batch, size_t k, SelectAlgo algo) const {
    TilePlanInput in;
    in.users = batch.count;
    in.k = k;
    in.radix = algo == SelectAlgo::Radix;
    in.half_storage = half_storage(options_.precision);
    in.dim = dim_;
    in.num_titles = num_titles_;
    in.titles_per_tile = titles_per_tile();
    in.max_users_per_tile = options_.max_users_per_tile;
    if (batch.exclusions) in.exclusions = batch.exclusions->offsets[batch.count] - batch.exclusions->offsets[0];
    in.lanes = lanes_->size();
    in.memory_budget = options_.memory_budget;
    if (in.memory_budget == 0) {
      size_t total = 0;
      MARQUEE_CUDA_CHECK(cudaMemGetInfo(&in.free_bytes, &total));
      for (const auto& lane : *lanes_) in.held_bytes += lane.device_bytes();
    }
    return plan_user_tiles(in);
  }

  void convert(const float* in, void* out, size_t n, cudaStream_t stream) const {
    if (options_.precision == GpuPrecision::Bf16) kernels::convert_f32_to_bf16(in, out, n, stream);
    else kernels::convert_f32_to_f16(in, out, n, stream);
  }

  void reserve_lane(Lane& lane, size_t users, size_t k, SelectAlgo algo, size_t max_excl) {
    lane.users.reserve(users * dim_);
    if (half_storage(options_.precision)) lane.users_half.reserve(users * dim_);
    lane.tile.reserve(users * titles_per_tile());
    lane.excl_offsets.reserve(users + 1);
    lane.excl_titles.reserve(std::max<size_t>(1, max_excl));
    lane.state[0].reserve(users, k);
    if (algo == SelectAlgo::Radix) {
      lane.state[1].reserve(users, k);
      lane.workspace.reserve(kernels::select_k_finalize_workspace(users, k));
    }
    lane.h_users.reserve(users * dim_);
    lane.h_excl_offsets.reserve(users + 1);
    lane.h_excl_titles.reserve(std::max<size_t>(1, max_excl));
    lane.h_scores.reserve(users * k);
    lane.h_titles.reserve(users * k);
    lane.h_counts.reserve(users);
  }

  // Waits for a lane's tile and copies its results into `out`.
  void collect(Lane& lane, UserRange r, size_t k, TopKResult& out) {
    lane.stream.sync();
    for (size_t i = 0; i < r.count; ++i) {
      const size_t u = r.first + i;
      const uint32_t c = lane.h_counts.data()[i];
      MARQUEE_ASSERT(c <= k);
      out.counts[u] = c;
      std::memcpy(out.titles.data() + u * k, lane.h_titles.data() + i * k, c * sizeof(uint32_t));
      std::memcpy(out.scores.data() + u * k, lane.h_scores.data() + i * k, c * sizeof(float));
    }
    if (hook_) hook_(ScorerHookPoint::TileCollected, r.first, r.count);
  }

  // Stages users [r.first, r.first + r.count) on the lane and queues their uploads, GEMMs, exclusions,
  // selection and downloads.
  void launch(Lane& lane, UserRange r, const UserBatchView& batch, size_t k, SelectAlgo algo) {
    const Exclusions* ex = batch.exclusions;
    const size_t u0 = r.first, nu = r.count, w = titles_per_tile();
    cudaStream_t s = lane.stream.get();

    // Stage on the host (pinned), then upload asynchronously.
    std::memcpy(lane.h_users.data(), batch.vectors + u0 * dim_, nu * dim_ * sizeof(float));
    size_t n_excl = 0;
    lane.h_excl_offsets.data()[0] = 0;
    for (size_t i = 0; i < nu; ++i) {
      if (ex) {
        const uint64_t b = ex->offsets[u0 + i], e = ex->offsets[u0 + i + 1];
        std::memcpy(lane.h_excl_titles.data() + n_excl, ex->titles.data() + b, (e - b) * sizeof(uint32_t));
        n_excl += e - b;
      }
      lane.h_excl_offsets.data()[i + 1] = n_excl;
    }
    MARQUEE_CUDA_CHECK(cudaMemcpyAsync(lane.users.data(), lane.h_users.data(), nu * dim_ * sizeof(float),
                                       cudaMemcpyHostToDevice, s));
    MARQUEE_CUDA_CHECK(cudaMemcpyAsync(lane.excl_offsets.data(), lane.h_excl_offsets.data(),
                                       (nu + 1) * sizeof(uint64_t), cudaMemcpyHostToDevice, s));
    if (n_excl > 0)
      MARQUEE_CUDA_CHECK(cudaMemcpyAsync(lane.excl_titles.data(), lane.h_excl_titles.data(), n_excl * sizeof(uint32_t),
                                         cudaMemcpyHostToDevice, s));
    if (half_storage(options_.precision)) convert(lane.users.data(), lane.users_half.data(), nu * dim_, s);
    if (hook_) hook_(ScorerHookPoint::TileQueued, u0, nu);

    // Score title tiles and merge each into the running top-K.
    int cur = 0;
    kernels::topk_state_clear(lane.state[cur].view(), nu, s);
    for (size_t t0 = 0; t0 < num_titles_; t0 += w) {
      const size_t nt = std::min(w, num_titles_ - t0);
      gemm(lane, t0, nt, nu);
      kernels::apply_exclusions(lane.tile.data(), nt, nu, nt, uint32_t(t0), lane.excl_offsets.data(),
                                lane.excl_titles.data(), s);
      const int next = algo == SelectAlgo::Radix ? 1 - cur : cur;
      kernels::select_k_merge(algo, lane.tile.data(), nt, nu, nt, uint32_t(t0), k, lane.state[cur].view(),
                              lane.state[next].view(), s);
      MARQUEE_CUDA_CHECK(cudaGetLastError());
      cur = next;
    }
    if (algo == SelectAlgo::Radix)
      MARQUEE_CUDA_CHECK(
          kernels::select_k_finalize(lane.state[cur].view(), nu, k, lane.workspace.data(), lane.workspace.size(), s));
    MARQUEE_CUDA_CHECK(cudaGetLastError());

    MARQUEE_CUDA_CHECK(cudaMemcpyAsync(lane.h_scores.data(), lane.state[cur].scores.data(), nu * k * sizeof(float),
                                       cudaMemcpyDeviceToHost, s));
    MARQUEE_CUDA_CHECK(cudaMemcpyAsync(lane.h_titles.data(), lane.state[cur].titles.data(), nu * k * sizeof(uint32_t),
                                       cudaMemcpyDeviceToHost, s));
    MARQUEE_CUDA_CHECK(cudaMemcpyAsync(lane.h_counts.data(), lane.state[cur].counts.data(), nu * sizeof(uint32_t),
                                       cudaMemcpyDeviceToHost, s));
  }

  void run(const UserBatchView& batch, size_t k, SelectAlgo algo, size_t users_per_tile, TopKResult& out) {
    const Exclusions* ex = batch.exclusions;
    size_t max_excl = 0;
    for (size_t u0 = 0; u0 < batch.count && ex; u0 += users_per_tile) {
      const size_t nu = std::min(users_per_tile, batch.count - u0);
      max_excl = std::max<size_t>(max_excl, ex->offsets[u0 + nu] - ex->offsets[u0]);
    }
    for (auto& lane : *lanes_) reserve_lane(lane, users_per_tile, k, algo, max_excl);
    auto& lanes = *lanes_;
    pipeline_.run(
        batch.count, users_per_tile, [&](size_t i, UserRange r) { launch(lanes[i], r, batch, k, algo); },
        [&](size_t i, UserRange r) { collect(lanes[i], r, k, out); }, [&](size_t i) noexcept { lanes[i].drain(); });
  }

  // tile[nu x nt] (row-major, ld = nt) = users[nu x dim] * titles[t0 .. t0+nt)^T. cuBLAS is
  // column-major: C (nt x nu, ldc = nt) = op(A = titles, dim x nt col-major)^T * (B = users, dim x nu).
  void gemm(Lane& lane, size_t t0, size_t nt, size_t nu) {
    const float alpha = 1.0f, beta = 0.0f;
    const bool half = half_storage(options_.precision);
    const cudaDataType_t in_type = options_.precision == GpuPrecision::Bf16   ? CUDA_R_16BF
                                   : options_.precision == GpuPrecision::Fp16 ? CUDA_R_16F
                                                                              : CUDA_R_32F;
    const cublasComputeType_t compute =
        options_.precision == GpuPrecision::Tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    const void* a = half ? static_cast<const void*>(titles_half_.data() + t0 * dim_)
                         : static_cast<const void*>(titles_.data() + t0 * dim_);
    const void* b = half ? static_cast<const void*>(lane.users_half.data()) : static_cast<const void*>(lane.users.data());
    MARQUEE_CUBLAS_CHECK(cublasGemmEx(lane.cublas.get(), CUBLAS_OP_T, CUBLAS_OP_N, int(nt), int(nu), int(dim_), &alpha, a,
                                      in_type, int(dim_), b, in_type, int(dim_), &beta, lane.tile.data(), CUDA_R_32F,
                                      int(nt), compute, CUBLAS_GEMM_DEFAULT));
  }

  CudaScorerOptions options_;
  ScorerHook hook_;
  size_t num_titles_, dim_;
  std::string device_name_;
  DeviceBuffer<float> titles_;
  DeviceBuffer<uint16_t> titles_half_;
  std::unique_ptr<std::array<Lane, kLanes>> lanes_;
  LanePipeline pipeline_{kLanes};  // which lane holds which user tile; none between searches
};

std::unique_ptr<Scorer> make_cuda_scorer(const TitleMatrix& titles, const CudaScorerOptions& options,
                                         ScorerHook hook) {
  return std::make_unique<CudaScorer>(titles, options, std::move(hook));
}

}  // namespace marquee::cuda
