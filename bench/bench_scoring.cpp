// Google Benchmark of the CPU scorer (sparse and dense paths) and of TopKSelector on its own.
//
//   build/bench/bench_scoring                          # everything (about 30 s on 2 cores)
//   build/bench/bench_scoring --benchmark_filter=Sparse
//   build/bench/bench_scoring --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// Arguments of the scorer benchmarks: users, titles, tags, K. users_per_s is wall-clock throughput.
#include "bench/bench_main.h"
#include "bench/peak.h"
#include "bench/synthetic.h"
#include "engine/dense_kernel.h"

#include "engine/scorer.h"
#include "engine/topk.h"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <map>
#include <memory>
#include <random>
#include <tuple>

namespace {

using namespace marquee;

struct Fixture {
  TitleMatrix titles;
  bench::SyntheticUsers users;
};

/// Built once per shape and reused by every benchmark of that shape.
const Fixture& fixture(size_t users, size_t titles, size_t tags) {
  static std::map<std::tuple<size_t, size_t, size_t>, std::unique_ptr<Fixture>> cache;
  auto& slot = cache[{users, titles, tags}];
  if (!slot) {
    slot = std::make_unique<Fixture>();
    slot->titles = TitleMatrix::build(bench::make_catalog(titles, tags, 1));
    slot->users = bench::make_users(slot->titles, users, 2);
  }
  return *slot;
}

void run_scorer(benchmark::State& state, CpuScoringPath path, CpuDenseKernel kernel = CpuDenseKernel::Auto) {
  const size_t users = size_t(state.range(0));
  const Fixture& f = fixture(users, size_t(state.range(1)), size_t(state.range(2)));
  const size_t k = size_t(state.range(3));
  CpuScorerOptions options;
  options.path = path;
  options.dense_kernel = kernel;
  auto scorer = make_cpu_scorer(f.titles, options);
  const UserBatchView batch{users, f.users.dim, f.users.vectors.data(), &f.users.exclusions};
  TopKResult out;
  for (auto _ : state) {
    scorer->search(batch, k, out);
    benchmark::DoNotOptimize(out.titles.data());
  }
  state.counters["users_per_s"] = benchmark::Counter(double(users), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["density"] = f.titles.density();
  // As a dense product counts them: 2 x users x titles x dim per search.
  state.counters["GFLOPs"] = benchmark::Counter(2e-9 * double(users) * double(f.titles.num_titles()) * double(f.users.dim),
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(scorer->describe());
}

void BM_CpuSparse(benchmark::State& state) { run_scorer(state, CpuScoringPath::Sparse); }
void BM_CpuDense(benchmark::State& state) { run_scorer(state, CpuScoringPath::Dense); }
// The dense path's kernels at model-factor sizes: the micro-kernel chosen at run time (0) against
// the single-threaded BLAS tiles (1).
void BM_CpuDenseKernel(benchmark::State& state) {
  run_scorer(state, CpuScoringPath::Dense, state.range(4) == 0 ? CpuDenseKernel::Auto : CpuDenseKernel::Blas);
}

// users, titles, tags, K. Titles carry 10-40 tags, so fewer tags means a denser title matrix:
// 500 tags ~ 0.05, 200 ~ 0.125, 100 ~ 0.25 (CpuScorerOptions::sparse_density_threshold picks Auto's path).
BENCHMARK(BM_CpuSparse)
    ->ArgNames({"users", "titles", "tags", "k"})
    ->Args({8192, 20000, 500, 10})
    ->Args({8192, 20000, 500, 50})
    ->Args({8192, 20000, 500, 1000})
    ->Args({8192, 5000, 200, 50})
    ->Args({8192, 5000, 100, 50})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);
BENCHMARK(BM_CpuDense)
    ->ArgNames({"users", "titles", "tags", "k"})
    ->Args({8192, 20000, 500, 10})
    ->Args({8192, 20000, 500, 50})
    ->Args({8192, 20000, 500, 1000})
    ->Args({8192, 5000, 200, 50})
    ->Args({8192, 5000, 100, 50})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

BENCHMARK(BM_CpuDenseKernel)
    ->ArgNames({"users", "titles", "dims", "k", "blas"})
    ->ArgsProduct({{8192}, {20000}, {32, 64, 128, 256}, {10, 50, 1000}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(0.5);

// The dense micro-kernel alone, data in L1 (one micro-block of users against one panel, the
// thresholds out of reach): its GFLOP/s against the FMA peak, apart from selection and memory.
// kernel: 0 avx2, 1 avx512, 2 avx512-bf16.
void BM_DenseKernelBlock(benchmark::State& state) {
  const size_t dim = size_t(state.range(0));
  const int which = int(state.range(1));
  if ((which == 1 && !detail::dense_kernel_avx512_supported()) ||
      (which == 2 && !detail::dense_kernel_avx512_bf16_supported())) {
    state.SkipWithError("not supported by this CPU");
    return;
  }
  const detail::DenseKernel kn = which == 0   ? detail::dense_kernel_avx2()
                                 : which == 1 ? detail::dense_kernel_avx512()
                                              : detail::dense_kernel_avx512_bf16();
  const size_t slots = kn.slots(dim);
  std::vector<float> users(kn.mr * dim, 0.01f), titles(kn.nr * dim, 0.02f);
  std::vector<float> pu(kn.mr * slots), pt(kn.nr * slots), thr(kn.mr, 1e30f), scores(kn.mr * kn.nr);
  std::vector<uint32_t> pass(kn.mr);
  detail::pack_panels(users.data(), kn.mr, dim, kn.mr, kn.bf16, pu.data());
  detail::pack_panels(titles.data(), kn.nr, dim, kn.nr, kn.bf16, pt.data());
  for (auto _ : state) {
    kn.block(pu.data(), pt.data(), slots, thr.data(), scores.data(), pass.data());
    benchmark::DoNotOptimize(pass.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPs"] = benchmark::Counter(2e-9 * double(kn.mr * kn.nr * dim),
                                                benchmark::Counter::kIsIterationInvariantRate);
  const double peak = bench::measure_fma_peak_gflops(1);
  state.SetLabel(fmt::format("{} kernel; 1-thread FMA peak {:.0f} GFLOP/s", kn.name, peak));
}
BENCHMARK(BM_DenseKernelBlock)->ArgNames({"dims", "kernel"})->ArgsProduct({{32, 128, 256}, {0, 1, 2}})->MinTime(0.2);

// TopKSelector alone: one materialised score row of `titles` scores (a real user's scores against
// the synthetic catalogue, with its exclusions set to -inf), pushed with push_row then taken sorted.
void BM_TopKPushRow(benchmark::State& state) {
  const size_t n_titles = size_t(state.range(0));
  const size_t k = size_t(state.range(1));
  const TopKStrategy strategy = state.range(2) == 0 ? TopKStrategy::Heap : TopKStrategy::Buffer;
  const Fixture& f = fixture(256, n_titles, 500);
  std::vector<std::vector<float>> rows(64, std::vector<float>(n_titles));
  for (size_t u = 0; u < rows.size(); ++u) {
    const float* v = f.users.vectors.data() + u * f.users.dim;
    for (size_t t = 0; t < n_titles; ++t) {
      const float* r = f.titles.row(t);
      float s = 0;
      for (size_t d = 0; d < f.users.dim; ++d) s += v[d] * r[d];
      rows[u][t] = s;
    }
    for (uint64_t p = f.users.exclusions.offsets[u]; p < f.users.exclusions.offsets[u + 1]; ++p)
      rows[u][f.users.exclusions.titles[p]] = -INFINITY;
  }
  TopKSelector sel(k, strategy);
  std::vector<ScoredTitle> buf;
  size_t u = 0;
  for (auto _ : state) {
    sel.reset(k);
    // In tiles, as the dense scorer feeds it (kDenseTitles-sized pieces).
    for (size_t t0 = 0; t0 < n_titles; t0 += 1024)
      sel.push_row(uint32_t(t0), rows[u].data() + t0, std::min<size_t>(1024, n_titles - t0));
    sel.take_sorted(buf);
    benchmark::DoNotOptimize(buf.data());
    u = (u + 1) % rows.size();
  }
  state.counters["rows_per_s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(n_titles));  // scores scanned per second
}
// titles, K, strategy (0 heap, 1 buffer): where the buffer starts to win sets
// TopKSelector::kBufferFromK (docs/benchmarks.md).
BENCHMARK(BM_TopKPushRow)
    ->ArgNames({"titles", "k", "buffer"})
    ->ArgsProduct({{20000}, {10, 50, 100, 128, 256, 1000, 5000}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

MARQUEE_BENCHMARK_MAIN()
