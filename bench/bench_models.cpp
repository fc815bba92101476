// Google Benchmark of model fold-in (engine/model.h): how many users a second a saved behaviour
// model folds in from their engagement, in a nightly batch (many users, all cores) and as the
// server does it (one user per request, on the caller's thread). Synthetic data (bench/synthetic.h):
// 20k titles, users with the synthetic watch lists, engagement weights in (0.2, 1].
//
//   build/bench/bench_models --benchmark_filter=FoldIn
#include "bench/bench_main.h"
#include "bench/synthetic.h"
#include "engine/model.h"

#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <random>

namespace {

using namespace marquee;

constexpr size_t kTitles = 20000, kTags = 500, kTrainUsers = 20000;

// The synthetic users as profiles: their watched titles with random engagement weights.
UserProfiles synthetic_profiles(const TitleMatrix& titles, size_t users, uint64_t seed) {
  const bench::SyntheticUsers s = bench::make_users(titles, users, seed);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> weight(0.2f, 1.0f);
  UserProfiles p;
  p.dim = s.dim;
  p.vectors = s.vectors;
  p.seen_offsets.push_back(0);
  for (size_t u = 0; u < users; ++u) {
    p.user_ids.push_back("u" + std::to_string(u));
    for (uint64_t i = s.exclusions.offsets[u]; i < s.exclusions.offsets[u + 1]; ++i)
      p.seen.push_back(SeenTitle{s.exclusions.titles[i], weight(rng), 0, {}});
    p.seen_offsets.push_back(p.seen.size());
    UserSummary sum;
    sum.titles = uint32_t(p.seen_offsets[u + 1] - p.seen_offsets[u]);
    sum.usable = sum.titles > 0;
    p.summaries.push_back(sum);
  }
  return p;
}

struct Fixture {
  TitleMatrix titles;
  UserProfiles train, fold;
  std::unique_ptr<Model> model;
};

// A behaviour model of `factors` fitted once (2 ALS iterations: the fold-in cost does not depend on
// how well it is trained) and 4096 other users to fold in.
const Fixture& fixture(size_t factors) {
  static std::map<size_t, std::unique_ptr<Fixture>> cache;
  auto& slot = cache[factors];
  if (!slot) {
    slot = std::make_unique<Fixture>();
    slot->titles = TitleMatrix::build(bench::make_catalog(kTitles, kTags, 1));
    slot->train = synthetic_profiles(slot->titles, kTrainUsers, 2);
    slot->fold = synthetic_profiles(slot->titles, 4096, 3);
    ModelParams p;
    p.als.factors = factors;
    p.als.iterations = 2;
    slot->model = make_model(ModelKind::Behaviour, p);
    slot->model->fit(slot->titles, slot->train);
  }
  return *slot;
}

size_t seen_count(const UserProfiles& p) { return p.seen.size(); }

// The nightly path: a batch of 4096 users, all cores.
void BM_FoldInBatch(benchmark::State& state) {
  const Fixture& f = fixture(size_t(state.range(0)));
  for (auto _ : state) {
    std::vector<float> v = f.model->user_vectors(f.fold);
    benchmark::DoNotOptimize(v.data());
  }
  state.counters["users_per_s"] =
      benchmark::Counter(double(f.fold.size()), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["seen_per_user"] = double(seen_count(f.fold)) / double(f.fold.size());
}

// The server's path: one user per call on the calling thread.
void BM_FoldInOneUser(benchmark::State& state) {
  const Fixture& f = fixture(size_t(state.range(0)));
  std::vector<UserProfiles> singles;
  for (size_t u = 0; u < 256; ++u) {
    UserProfiles one;
    one.dim = f.fold.dim;
    one.user_ids = {f.fold.user_ids[u]};
    one.vectors.assign(f.fold.vector(u), f.fold.vector(u) + f.fold.dim);
    one.seen.assign(f.fold.seen_begin(u), f.fold.seen_end(u));
    one.seen_offsets = {0, one.seen.size()};
    one.summaries = {f.fold.summaries[u]};
    singles.push_back(std::move(one));
  }
  size_t i = 0;
  for (auto _ : state) {
    std::vector<float> v = f.model->user_vectors(singles[i++ % singles.size()]);
    benchmark::DoNotOptimize(v.data());
  }
  state.counters["users_per_s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_FoldInBatch)->Arg(32)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FoldInOneUser)->Arg(32)->Arg(128)->Unit(benchmark::kMicrosecond);

MARQUEE_BENCHMARK_MAIN()
