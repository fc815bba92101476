// The CUDA backend's host logic, tested without a device (CTest label "unit"): the scorer's tile
// planning (host/cuda/tile_plan.h), its lane bookkeeping under injected faults
// (host/cuda/lane_pipeline.h), and the selection kernels' size limits (kernels/select_k.cuh), which
// are checked on the host before anything reaches the device; and the GPU profile builder's
// duplicate rule (kernels/profile_duplicates.h) against marquee::build_profiles.
#include "engine/catalog.h"
#include "engine/error.h"
#include "engine/profiles.h"
#include "engine/title_matrix.h"
#include "host/cuda/lane_pipeline.h"
#include "host/cuda/tile_plan.h"
#include "kernels/profile_duplicates.h"
#include "kernels/select_k_limits.h"
#ifdef MARQUEE_TEST_CUDA_KERNELS
#include "kernels/select_k.cuh"
#endif

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <string>
#include <vector>

using namespace marquee;
using namespace marquee::cuda;

namespace {

constexpr size_t kMiB = size_t(1) << 20;
constexpr size_t kGiB = size_t(1) << 30;

// 200k titles x 256 dims fp32 (195 MiB resident), K = 100, the block path.
TilePlanInput typical() {
  TilePlanInput in;
  in.users = 1'000'000;
  in.k = 100;
  in.dim = 256;
  in.num_titles = 200'000;
  in.titles_per_tile = 16384;
  in.max_users_per_tile = 1'000'000;
  in.exclusions = 20'000'000;
  return in;
}

}  // namespace

// --- tile planning --------------------------------------------------------------------------------

TEST(TilePlan, AutoBudgetDoesNotCountTheResidentTitleMatrixTwice) {
  // The title matrix takes 60 % of the device; the 40 % left is free when the plan is made. The
  // auto budget is 80 % of that free memory, all of it for the lanes.
  TilePlanInput in = typical();
  in.num_titles = 30'000'000;  // 28.6 GiB at 256 fp32 dims
  const size_t resident = in.num_titles * in.dim * 4;
  in.free_bytes = resident * 2 / 3;
  const TilePlan p = plan_user_tiles(in);
  EXPECT_EQ(p.resident_bytes, resident);
  EXPECT_EQ(p.workspace_bytes, in.free_bytes / 10 * 8);
  const size_t tile_bytes = in.lanes * p.per_user_bytes;
  EXPECT_LE(p.users_per_tile * tile_bytes, p.workspace_bytes);
  EXPECT_GT((p.users_per_tile + 1) * tile_bytes, p.workspace_bytes) << "the tile must use the whole budget";
}

TEST(TilePlan, AutoBudgetFillsEightyPercentOfFreeMemory) {
  TilePlanInput in = typical();
  in.free_bytes = 20 * kGiB;
  const TilePlan p = plan_user_tiles(in);
  const size_t tile_bytes = in.lanes * p.per_user_bytes;
  EXPECT_EQ(p.users_per_tile, in.free_bytes / 10 * 8 / tile_bytes);
}

TEST(TilePlan, AutoBudgetCountsTheLanesOwnBuffersAsAvailable) {
  // A second search must not shrink its tiles because the first one's buffers are still held.
  TilePlanInput in = typical();
  in.free_bytes = 4 * kGiB;
  const TilePlan first = plan_user_tiles(in);
  in.free_bytes -= 2 * kGiB;
  in.held_bytes = 2 * kGiB;
  EXPECT_EQ(plan_user_tiles(in).users_per_tile, first.users_per_tile);
}

TEST(TilePlan, ExplicitBudgetHoldsTheTitleMatrixAndTheWorkspaces) {
  TilePlanInput in = typical();
  in.memory_budget = 2 * kGiB;
  in.free_bytes = 100 * kGiB;  // not consulted with an explicit budget
  const TilePlan p = plan_user_tiles(in);
  EXPECT_EQ(p.workspace_bytes, in.memory_budget - p.resident_bytes);
  EXPECT_EQ(p.users_per_tile, p.workspace_bytes / (in.lanes * p.per_user_bytes));
}

TEST(TilePlan, ABudgetTooSmallForOneUserIsAnArgumentErrorNamingTheSizes) {
  TilePlanInput in = typical();
  in.memory_budget = in.num_titles * in.dim * 4 + 1000;  // the title matrix and 1000 bytes
  try {
    plan_user_tiles(in);
    FAIL() << "expected ArgumentError";
  } catch (const ArgumentError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("195 MiB"), std::string::npos) << m;  // the title matrix
    EXPECT_NE(m.find("GPU memory budget"), std::string::npos) << m;
  }
  in.memory_budget = 0;
  in.free_bytes = 1000;
  EXPECT_THROW(plan_user_tiles(in), ArgumentError);
}

TEST(TilePlan, PerUserBytesCoverEveryDeviceBufferOfATile) {
  const TilePlanInput in = typical();
  const size_t block = plan_user_tiles([&] {
                         auto i = in;
                         i.free_bytes = kGiB;
                         return i;
                       }())
                           .per_user_bytes;
  // users (fp32) + score tile + exclusion offsets and the batch's mean exclusion list + one top-K state.
  const size_t excl_per_user = (in.exclusions + in.users - 1) / in.users;
  EXPECT_GE(block, in.dim * 4 + in.titles_per_tile * 4 + 8 + excl_per_user * 4 + in.k * 8 + 4);
  TilePlanInput half = in;
  half.half_storage = true;
  half.free_bytes = kGiB;
  EXPECT_EQ(plan_user_tiles(half).per_user_bytes, block + in.dim * 2);
  TilePlanInput radix = in;
  radix.radix = true;
  radix.k = 1000;
  radix.free_bytes = kGiB;
  TilePlanInput block_1000 = radix;
  block_1000.radix = false;
  // The second state, the finalize keys (in and out) and CUB's copy of them.
  EXPECT_GE(plan_user_tiles(radix).per_user_bytes, plan_user_tiles(block_1000).per_user_bytes + 1000 * (8 + 3 * 8));
}

TEST(TilePlan, TilesStayWithinTheSelectionIndexLimit) {
  for (size_t k : {size_t(1), size_t(257), size_t(5000), size_t(100'000)}) {
    TilePlanInput in = typical();
    in.k = k;
    in.radix = k > 256;
    in.dim = 8;
    in.titles_per_tile = 1;
    in.num_titles = 1;
    in.users = SIZE_MAX / 2;
    in.max_users_per_tile = SIZE_MAX / 2;
    in.memory_budget = SIZE_MAX / 2;  // memory is no limit
    const TilePlan p = plan_user_tiles(in);
    EXPECT_LE(p.users_per_tile * k, kernels::kSelectMaxElements) << "k " << k;
    EXPECT_GT((p.users_per_tile + 1) * k, kernels::kSelectMaxElements) << "k " << k;
  }
}

TEST(TilePlan, SmallBatchesAndTheUserCapLimitTheTile) {
  TilePlanInput in = typical();
  in.free_bytes = 100 * kGiB;
  in.users = 7;
  EXPECT_EQ(plan_user_tiles(in).users_per_tile, 7u);
  in.users = 1'000'000;
  in.max_users_per_tile = 65536;
  EXPECT_EQ(plan_user_tiles(in).users_per_tile, 65536u);
}

// --- lane bookkeeping under injected faults ---------------------------------------------------------

namespace {

struct Fault : std::runtime_error {
  Fault() : std::runtime_error("injected fault") {}
};

// Records what the pipeline asks of the lanes; throws at the launch or collect named.
struct Recorder {
  std::vector<std::string> log;
  int fail_launch = -1, fail_collect = -1;  // 0-based call numbers; -1: never
  int launches = 0, collects = 0;
  size_t batch_users = 0;  // the run's batch: every collected range must lie inside it

  static std::string name(const char* what, size_t lane, UserRange r) {
    return std::string(what) + " " + std::to_string(lane) + " [" + std::to_string(r.first) + "," +
           std::to_string(r.first + r.count) + ")";
  }
  void run(LanePipeline& p, size_t users, size_t per_tile) {
    batch_users = users;
    p.run(
        users, per_tile,
        [&](size_t lane, UserRange r) {
          log.push_back(name("launch", lane, r));
          if (launches++ == fail_launch) throw Fault();
        },
        [&](size_t lane, UserRange r) {
          log.push_back(name("collect", lane, r));
          EXPECT_LE(r.first + r.count, batch_users) << "collected a tile of another batch into this one";
          if (collects++ == fail_collect) throw Fault();
        },
        [&](size_t lane) noexcept { log.push_back("abandon " + std::to_string(lane)); });
  }
};

void expect_idle(const LanePipeline& p) {
  for (size_t lane = 0; lane < p.lanes(); ++lane) EXPECT_FALSE(p.in_flight(lane)) << "lane " << lane;
}

}  // namespace

TEST(LanePipeline, TilesAlternateLanesAndEachIsCollectedBeforeItsLaneIsReused) {
  LanePipeline p(2);
  Recorder rec;
  rec.run(p, 10, 3);
  const std::vector<std::string> want = {"launch 0 [0,3)",  "launch 1 [3,6)",  "collect 0 [0,3)", "launch 0 [6,9)",
                                         "collect 1 [3,6)", "launch 1 [9,10)", "collect 0 [6,9)", "collect 1 [9,10)"};
  EXPECT_EQ(rec.log, want);
  expect_idle(p);
}

TEST(LanePipeline, AFailedLaunchLeavesNoLaneInFlightAndTheNextBatchCollectsOnlyItsOwnTiles) {
  // The second tile's launch fails (a cuBLAS error, a failed copy) while lane 0 holds the first.
  LanePipeline p(2);
  Recorder rec;
  rec.fail_launch = 1;
  EXPECT_THROW(rec.run(p, 100, 40), Fault);
  expect_idle(p);
  // Both lanes were drained before the error left: lane 0's tile and lane 1's half-queued one.
  const std::vector<std::string> after_fault = {"launch 0 [0,40)", "launch 1 [40,80)", "abandon 0", "abandon 1"};
  EXPECT_EQ(rec.log, after_fault);

  // The server carries on with a one-user batch: nothing of the failed batch may be collected into it.
  rec.log.clear();
  rec.run(p, 1, 40);
  const std::vector<std::string> want = {"launch 0 [0,1)", "collect 0 [0,1)"};
  EXPECT_EQ(rec.log, want);
  expect_idle(p);
}

TEST(LanePipeline, AFailedCollectLeavesNoLaneInFlight) {
  LanePipeline p(2);
  Recorder rec;
  rec.fail_collect = 0;  // waiting for the first tile reports an error (an async copy failed)
  EXPECT_THROW(rec.run(p, 100, 30), Fault);
  expect_idle(p);
  rec.log.clear();
  rec.fail_collect = -1;
  rec.run(p, 5, 30);
  const std::vector<std::string> want = {"launch 0 [0,5)", "collect 0 [0,5)"};
  EXPECT_EQ(rec.log, want);
}

TEST(LanePipeline, AFaultInTheLastTileStillDrainsEveryLane) {
  for (int fail = 0; fail < 4; ++fail) {
    LanePipeline p(2);
    Recorder rec;
    rec.fail_launch = fail;
    EXPECT_THROW(rec.run(p, 4, 1), Fault) << "fault at launch " << fail;
    expect_idle(p);
    size_t abandoned = 0;
    for (const auto& line : rec.log) abandoned += line.rfind("abandon", 0) == 0;
    EXPECT_EQ(abandoned, fail == 0 ? 1u : 2u) << "fault at launch " << fail;
  }
}

// --- selection size limits --------------------------------------------------------------------------

TEST(SelectKLimits, MaxRowsIsTheLargestCountUnderTheIndexLimit) {
  for (size_t k : {size_t(1), size_t(3), size_t(256), size_t(257), size_t(5000), size_t(1) << 20}) {
    const size_t rows = kernels::select_k_max_rows(k);
    EXPECT_LE(rows * k, kernels::kSelectMaxElements) << k;
    EXPECT_GT((rows + 1) * k, kernels::kSelectMaxElements) << k;
  }
  EXPECT_EQ(kernels::kSelectMaxElements, size_t(INT32_MAX));
}

#ifdef MARQUEE_TEST_CUDA_KERNELS
// The public entry points refuse sizes beyond 32-bit indexing before any device work (so these run
// without a device; on one, the old code would have sorted wrapped-around segments).
TEST(SelectKLimits, FinalizeRefusesRowsTimesKFrom2To31) {
  const size_t k = 2048, rows = (size_t(1) << 31) / k;  // rows * k == 2^31
  EXPECT_THROW(kernels::select_k_finalize_workspace(rows, k), std::invalid_argument);
  try {
    (void)kernels::select_k_finalize(kernels::TopKState{}, rows, k, nullptr, SIZE_MAX, nullptr);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("2147483647"), std::string::npos) << e.what();
  }
}

TEST(SelectKLimits, MergeRefusesTilesBeyondIntIndexing) {
  const kernels::TopKState a{}, b{reinterpret_cast<float*>(16), nullptr, nullptr};
  const size_t cols = size_t(INT32_MAX);  // kept entries ++ a tile this wide overflow int
  EXPECT_THROW(kernels::select_k_merge(kernels::SelectAlgo::Block, nullptr, cols, 1, cols, 0, 10, a, a, nullptr),
               std::invalid_argument);
  EXPECT_THROW(kernels::select_k_merge(kernels::SelectAlgo::Radix, nullptr, cols, 1, cols, 0, 300, a, b, nullptr),
               std::invalid_argument);
}
#endif

// --- the GPU profile builder's duplicate rule -----------------------------------------------------

namespace {

struct DuplicateReport {
  std::vector<std::pair<uint32_t, uint32_t>> pairs;  // (line, twin's line) in sorted order
  size_t kept = 0;
};

// What host/cuda/cuda_profiles.cu does on the device, step by step on the host with the same rule:
// the stable sort by (user, title, ts), the columns, each event's run start (the device's max-scan),
// first_occurrence per event (classify_events) and the report in sorted order (duplicate_lines).
DuplicateReport gpu_duplicate_rule_on_host(std::vector<Event> events) {
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return std::tie(a.user, a.title, a.ts) < std::tie(b.user, b.title, b.ts);
  });
  const size_t n = events.size();
  std::vector<int64_t> ts(n);
  std::vector<uint32_t> user(n), title(n), line(n);
  std::vector<float> position(n), seek_to(n);
  std::vector<uint8_t> type(n), hour(n);
  for (size_t i = 0; i < n; ++i) {
    ts[i] = events[i].ts;
    user[i] = events[i].user;
    title[i] = events[i].title;
    line[i] = events[i].line;
    position[i] = events[i].position_s;
    seek_to[i] = events[i].seek_to_s;
    type[i] = uint8_t(events[i].type);
    hour[i] = events[i].local_hour;
  }
  const kernels::EventColumns c{ts.data(),      user.data(), title.data(), position.data(),
                                seek_to.data(), line.data(), type.data(),  hour.data()};
  DuplicateReport out;
  uint32_t run_begin = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (i == 0 || !kernels::same_run(c, i - 1, i)) run_begin = i;
    const uint32_t twin = kernels::first_occurrence(c, run_begin, i);
    if (twin != i)
      out.pairs.emplace_back(line[i], line[twin]);
    else
      ++out.kept;
  }
  return out;
}

Catalog three_titles() {
  Catalog c;
  for (const char* t : {"comedy", "drama"}) c.add_tag({t, "genre"});
  c.add_title({"a", "A", 3000, 2001});
  c.add_title({"b", "B", 1800, 2002});
  c.add_title({"c", "C", 2400, 2003});
  c.add_assignment({0, 0, 1.0f});
  c.add_assignment({1, 1, 1.0f});
  c.add_assignment({2, 0, 0.5f});
  return c;
}

Event make_event(uint32_t user, uint32_t title, int64_t ts, EventType type, float pos, float seek_to, uint32_t line) {
  Event e;
  e.user = user;
  e.title = title;
  e.ts = ts;
  e.type = type;
  e.position_s = pos;
  e.seek_to_s = seek_to;
  e.line = line;
  return e;
}

void expect_rule_matches_cpu(const std::vector<Event>& events, size_t users, const std::string& ctx) {
  const Catalog c = three_titles();
  const TitleMatrix m = TitleMatrix::build(c);
  ProfileBuildStats cpu;
  (void)build_profiles(c, m, events, std::vector<std::string>(users, "u"), {}, &cpu);
  const DuplicateReport gpu = gpu_duplicate_rule_on_host(events);
  EXPECT_EQ(gpu.pairs, cpu.duplicates) << ctx;
  EXPECT_EQ(gpu.kept, cpu.events_used) << ctx;
}

}  // namespace

TEST(ProfileDuplicates, EqualTimestampsExactRepeatsDropWhereverTheyFallAsOnTheCpu) {
  using T = EventType;
  // The case of CudaProfiles.EqualTimestamps*: at ts 100 play (10), its repeat (11), a pause (12),
  // the play again (13, a repeat of 10 behind the pause); seeks differing only in the target (14,
  // 15) and a repeat of 15 (16); a pause whose seek_to differs from 12's is still a repeat (20).
  const std::vector<Event> events{
      make_event(0, 0, 400, T::Stop, 700, 0, 17),   make_event(0, 0, 100, T::Play, 0, 0, 10),
      make_event(0, 0, 100, T::Play, 0, 0, 11),     make_event(0, 0, 100, T::Pause, 0, 0, 12),
      make_event(0, 0, 100, T::Play, 0, 0, 13),     make_event(0, 0, 300, T::Seek, 400, 900, 14),
      make_event(0, 0, 300, T::Seek, 400, 600, 15), make_event(0, 0, 300, T::Seek, 400, 600, 16),
      make_event(1, 1, 50, T::Play, 0, 0, 18),      make_event(1, 1, 50, T::Play, 0, 0, 19),
      make_event(0, 0, 100, T::Pause, 0, 7, 20),
  };
  const DuplicateReport gpu = gpu_duplicate_rule_on_host(events);
  const std::vector<std::pair<uint32_t, uint32_t>> expected{{11, 10}, {13, 10}, {20, 12}, {16, 15}, {19, 18}};
  EXPECT_EQ(gpu.pairs, expected);
  EXPECT_EQ(gpu.kept, events.size() - expected.size());
  expect_rule_matches_cpu(events, 2, "ties");
}

TEST(ProfileDuplicates, RandomCrowdedSecondsMatchTheCpu) {
  // Few users, titles, seconds, types and positions: long runs with repeats scattered among other
  // events, shuffled lines so that the report's twin is the first occurrence in input order.
  const EventType types[] = {EventType::Play, EventType::Pause, EventType::Seek, EventType::Stop};
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    const size_t n = 50 + rng() % 400;
    std::vector<uint32_t> lines(n);
    std::iota(lines.begin(), lines.end(), 2u);
    std::shuffle(lines.begin(), lines.end(), rng);
    std::vector<Event> events;
    for (size_t i = 0; i < n; ++i)
      events.push_back(make_event(rng() % 3, rng() % 3, 1000 + rng() % (1 + seed % 5), types[rng() % 4],
                                  float(rng() % 2) * 30, float(rng() % 2) * 60, lines[i]));
    const DuplicateReport gpu = gpu_duplicate_rule_on_host(events);
    ASSERT_FALSE(gpu.pairs.empty()) << "seed " << seed;
    expect_rule_matches_cpu(events, 3, "seed " + std::to_string(seed));
  }
}
