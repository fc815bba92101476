// GPU benchmarks (Google Benchmark), run by bench/gpu/check.sh on a machine with a device:
//   - SelectK: top-K over a materialised score matrix (rows x cols fp32 on the device), timed with
//     CUDA events after warm-up; counters: effective bandwidth (GB/s) of reading the matrix once.
//   - FullScoring: users/s of the CUDA scorer (upload + GEMM + exclusion + top-K + download) for
//     U users x 20k titles x D dims, K = 100, fp32 / bf16; the same shape as torch_compare.py.
//   - ProfileBuild: events/s of the GPU profile builder against the CPU one on the same events.
// Without a device every benchmark reports "skipped".
#include "host/cuda/entry_points.h"
#include "host/cuda/cuda_check.h"
#include "host/cuda/device_resources.h"
#include "kernels/select_k.cuh"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <vector>

using namespace marquee;

namespace {

bool have_device() { return cuda::query_devices().device_count > 0; }

// Cheap deterministic fill (std::mt19937 would dominate set-up at a billion values).
void fill_uniform(std::vector<float>& v, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& f : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    f = float(x >> 40) / float(1 << 24) - 0.5f;
  }
}

void BM_SelectK(benchmark::State& state) {
  if (!have_device()) return state.SkipWithError("no CUDA device");
  const size_t rows = size_t(state.range(0)), cols = size_t(state.range(1)), k = size_t(state.range(2));
  // The selection indexes rows * k entries (and k + cols per row) with 32 bits (kernels/select_k_limits.h).
  if (rows > kernels::select_k_max_rows(k) || k + cols > kernels::kSelectMaxElements)
    return state.SkipWithError("rows * k or k + cols beyond the selection's 32-bit limit");
  std::vector<float> host(rows * cols);
  fill_uniform(host, 7);
  cuda::DeviceBuffer<float> scores(rows * cols);
  MARQUEE_CUDA_CHECK(cudaMemcpy(scores.data(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
  const auto algo = kernels::choose_select_algo(k);
  cuda::DeviceBuffer<float> s0(rows * k), s1(rows * k);
  cuda::DeviceBuffer<uint32_t> t0(rows * k), t1(rows * k), c0(rows), c1(rows);
  const kernels::TopKState a{s0.data(), t0.data(), c0.data()}, b{s1.data(), t1.data(), c1.data()};
  const size_t ws_bytes = kernels::select_k_finalize_workspace(rows, k);
  cuda::DeviceBuffer<char> ws(ws_bytes);
  cuda::Stream stream;
  cudaEvent_t start, stop;
  MARQUEE_CUDA_CHECK(cudaEventCreate(&start));
  MARQUEE_CUDA_CHECK(cudaEventCreate(&stop));
  auto once = [&]() {
    kernels::topk_state_clear(a, rows, stream.get());
    kernels::select_k_merge(algo, scores.data(), cols, rows, cols, 0, k, a,
                            algo == kernels::SelectAlgo::Radix ? b : a, stream.get());
    if (algo == kernels::SelectAlgo::Radix)
      MARQUEE_CUDA_CHECK(kernels::select_k_finalize(b, rows, k, ws.data(), ws_bytes, stream.get()));
    MARQUEE_CUDA_CHECK(cudaGetLastError());
  };
  once();  // warm-up
  stream.sync();
  double total_ms = 0;
  for (auto _ : state) {
    MARQUEE_CUDA_CHECK(cudaEventRecord(start, stream.get()));
    once();
    MARQUEE_CUDA_CHECK(cudaEventRecord(stop, stream.get()));
    MARQUEE_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    MARQUEE_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms / 1e3);
    total_ms += ms;
  }
  const double bytes = double(rows) * cols * sizeof(float);
  state.counters["GBps"] = bytes * state.iterations() / (total_ms / 1e3) / 1e9;
  state.counters["rows"] = double(rows);
  state.counters["cols"] = double(cols);
  state.counters["k"] = double(k);
  state.SetLabel(algo == kernels::SelectAlgo::Block ? "block" : "radix");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

void BM_FullScoring(benchmark::State& state) {
  if (!have_device()) return state.SkipWithError("no CUDA device");
  const size_t users = size_t(state.range(0)), titles = 20000, dim = size_t(state.range(1)), k = 100;
  const auto precision = GpuPrecision(state.range(2));
  // Dense random title vectors (the GEMM costs the same whatever the sparsity), normalised rows.
  Catalog c;
  for (size_t j = 0; j < dim; ++j) c.add_tag({"g" + std::to_string(j), "genre"});
  std::mt19937_64 rng(3);
  for (size_t t = 0; t < titles; ++t) {
    c.add_title({"t" + std::to_string(t), "", 100, 0});
    for (int i = 0; i < 30; ++i) c.add_assignment({uint32_t(t), uint32_t(rng() % dim), 0.1f + float(rng() % 900) / 1000});
  }
  const TitleMatrix m = TitleMatrix::build(c);
  std::vector<float> u(users * dim);
  fill_uniform(u, 11);
  Exclusions ex;  // ~20 watched titles per user
  ex.offsets.reserve(users + 1);
  ex.titles.reserve(users * 20);
  for (size_t i = 0; i < users; ++i) {
    const uint32_t base = uint32_t((i * 7919) % (titles - 400));
    for (uint32_t j = 0; j < 20; ++j) ex.titles.push_back(base + j * 20);
    ex.offsets.push_back(ex.titles.size());
  }
  CudaScorerOptions o;
  o.precision = precision;
  auto scorer = cuda::make_scorer(m, o);
  TopKResult r;
  const size_t warm = std::min<size_t>(users, 20000);
  Exclusions warm_ex;
  warm_ex.offsets.assign(ex.offsets.begin(), ex.offsets.begin() + warm + 1);
  warm_ex.titles.assign(ex.titles.begin(), ex.titles.begin() + warm_ex.offsets.back());
  scorer->search(UserBatchView{warm, dim, u.data(), &warm_ex}, k, r);  // warm-up
  for (auto _ : state) {
    scorer->search(UserBatchView{users, dim, u.data(), &ex}, k, r);
    benchmark::DoNotOptimize(r.titles.data());
  }
  state.counters["users_per_s"] = benchmark::Counter(double(users), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["gemm_tflops"] =
      benchmark::Counter(2.0 * users * titles * dim / 1e12, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(gpu_precision_name(precision));
}

// Profile building: events/s of the GPU twin (cuda::build_profiles) and of the CPU reference on the
// same in-memory events (four events per viewing: play, pause, resume, complete).
std::vector<Event> synthetic_events(size_t n_events, size_t users, size_t titles) {
  std::vector<Event> ev;
  ev.reserve(n_events);
  uint64_t x = 88172645463325252ull;
  auto next = [&]() {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  while (ev.size() + 4 <= n_events) {
    Event e;
    e.user = uint32_t(next() % users);
    e.title = uint32_t(next() % titles);
    e.ts = 1767225600 + int64_t(next() % (180 * 86400));
    e.local_hour = uint8_t(next() % 24);
    const EventType types[4] = {EventType::Play, EventType::Pause, EventType::Resume, EventType::Complete};
    const float pos[4] = {0, 600, 600, 3000};
    const int64_t dt[4] = {0, 600, 900, 3300};
    for (int i = 0; i < 4; ++i) {
      Event f = e;
      f.type = types[i];
      f.position_s = pos[i];
      f.ts = e.ts + dt[i];
      f.line = uint32_t(ev.size() + 2);
      ev.push_back(f);
    }
  }
  return ev;
}

void BM_ProfileBuild(benchmark::State& state) {
  const bool gpu = state.range(0) == 1;
  if (gpu && !have_device()) return state.SkipWithError("no CUDA device");
  const size_t n_events = size_t(state.range(1)), users = n_events / 40, titles = 20000, dim = 500;
  Catalog c;
  for (size_t j = 0; j < dim; ++j) c.add_tag({"g" + std::to_string(j), "genre"});
  std::mt19937_64 rng(5);
  for (size_t t = 0; t < titles; ++t) {
    c.add_title({"t" + std::to_string(t), "", 3000, 0});
    for (int i = 0; i < 20; ++i) c.add_assignment({uint32_t(t), uint32_t(rng() % dim), 0.5f});
  }
  const TitleMatrix m = TitleMatrix::build(c);
  const std::vector<Event> events = synthetic_events(n_events, users, titles);
  const std::vector<std::string> ids(users);
  for (auto _ : state) {
    UserProfiles p = gpu ? cuda::build_profiles(c, m, events, ids, {}) : build_profiles(c, m, events, ids, {});
    benchmark::DoNotOptimize(p.vectors.data());
  }
  state.counters["events_per_s"] =
      benchmark::Counter(double(events.size()), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(gpu ? "gpu" : "cpu");
}

}  // namespace

BENCHMARK(BM_ProfileBuild)
    ->ArgsProduct({{0, 1}, {20000000}})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2)
    ->UseRealTime();
BENCHMARK(BM_SelectK)
    ->ArgsProduct({{16384}, {20000}, {1, 32, 100, 256, 1000, 5000}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.5);
BENCHMARK(BM_FullScoring)
    ->ArgsProduct({{1000000}, {256, 1000}, {int(GpuPrecision::Fp32), int(GpuPrecision::Bf16)}})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2)
    ->UseRealTime();

BENCHMARK_MAIN();
