// GPU profile builder (cuda::build_profiles) against the CPU one (marquee::build_profiles) on the same
// events: generated data with duplicates and shuffled rows, and hand-built edge cases. CTest label
// "gpu"; every test skips (GTEST_SKIP) without a CUDA device.
#include "host/cuda/entry_points.h"
#include "gpu_test_util.h"
#include "engine/error.h"
#include "engine/profiles.h"
#include "host/io/events_io.h"
#include "generated_data.h"
#include "host/io/rejects.h"
#include "host/jobs/workspace.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace marquee;
using namespace marquee::test;

namespace {


struct Built {
  UserProfiles profiles;
  ProfileBuildStats stats;
};

Built build_cpu(const Catalog& c, const TitleMatrix& m, const std::vector<Event>& events,
                const std::vector<std::string>& users, const EngagementOptions& o) {
  Built b;
  b.profiles = build_profiles(c, m, events, users, o, &b.stats);
  return b;
}

Built build_gpu(const Catalog& c, const TitleMatrix& m, const std::vector<Event>& events,
                const std::vector<std::string>& users, const EngagementOptions& o) {
  Built b;
  b.profiles = cuda::build_profiles(c, m, events, users, o, &b.stats);
  return b;
}

void expect_same(const Built& gpu, const Built& cpu, const std::string& ctx) {
  const UserProfiles& g = gpu.profiles;
  const UserProfiles& c = cpu.profiles;
  ASSERT_EQ(g.dim, c.dim) << ctx;
  ASSERT_EQ(g.user_ids, c.user_ids) << ctx;
  ASSERT_EQ(g.seen_offsets, c.seen_offsets) << ctx;
  ASSERT_EQ(g.seen.size(), c.seen.size()) << ctx;
  ASSERT_EQ(g.vectors.size(), c.vectors.size()) << ctx;
  ASSERT_EQ(g.summaries.size(), c.summaries.size()) << ctx;
  for (size_t i = 0; i < c.seen.size(); ++i) {
    ASSERT_EQ(g.seen[i].title, c.seen[i].title) << ctx << " seen " << i;
    ASSERT_EQ(g.seen[i].completed, c.seen[i].completed) << ctx << " seen " << i;
    ASSERT_NEAR(g.seen[i].weight, c.seen[i].weight, 1e-5) << ctx << " seen " << i;
  }
  for (size_t i = 0; i < c.vectors.size(); ++i)
    ASSERT_NEAR(g.vectors[i], c.vectors[i], 1e-5) << ctx << " user " << i / c.dim << " dim " << i % c.dim;
  for (size_t u = 0; u < c.summaries.size(); ++u) {
    const UserSummary& gs = g.summaries[u];
    const UserSummary& cs = c.summaries[u];
    EXPECT_EQ(gs.events, cs.events) << ctx << " user " << u;
    EXPECT_EQ(gs.titles, cs.titles) << ctx << " user " << u;
    EXPECT_EQ(gs.completed, cs.completed) << ctx << " user " << u;
    EXPECT_EQ(gs.abandoned, cs.abandoned) << ctx << " user " << u;
    EXPECT_EQ(gs.daypart, cs.daypart) << ctx << " user " << u;
    EXPECT_EQ(gs.usable, cs.usable) << ctx << " user " << u;
    EXPECT_NEAR(gs.watched_s, cs.watched_s, 1e-3 * std::max(1.0f, std::abs(cs.watched_s))) << ctx << " user " << u;
  }
  EXPECT_EQ(gpu.stats.events_used, cpu.stats.events_used) << ctx;
  EXPECT_EQ(gpu.stats.duplicates, cpu.stats.duplicates) << ctx;
  EXPECT_EQ(gpu.stats.unusable_users, cpu.stats.unusable_users) << ctx;
  EXPECT_EQ(gpu.stats.as_of, cpu.stats.as_of) << ctx;
}

Event ev(uint32_t user, uint32_t title, int64_t ts, EventType type, float pos, float seek_to = 0, uint32_t line = 0,
         uint8_t hour = 20) {
  Event e;
  e.user = user;
  e.title = title;
  e.ts = ts;
  e.type = type;
  e.position_s = pos;
  e.seek_to_s = seek_to;
  e.line = line;
  e.local_hour = hour;
  return e;
}

// Four titles over three tags: 0 and 1 tagged, 2 untagged, 3 tagged but with no duration.
Catalog tiny_catalog() {
  Catalog c;
  for (const char* t : {"comedy", "drama", "dark"}) c.add_tag({t, "genre"});
  c.add_title({"a", "A", 3000, 2001});
  c.add_title({"b", "B", 1800, 2002});
  c.add_title({"untagged", "U", 2400, 2003});
  c.add_title({"nodur", "N", 0, 2004});
  c.add_assignment({0, 0, 1.0f});
  c.add_assignment({0, 2, 0.5f});
  c.add_assignment({1, 1, 1.0f});
  c.add_assignment({3, 0, 0.7f});
  return c;
}

using T = EventType;

}  // namespace

TEST(CudaProfiles, WithoutADeviceItSaysSo) {
  if (have_cuda_device()) GTEST_SKIP() << "a device is present";
  const Catalog c = tiny_catalog();
  const TitleMatrix m = TitleMatrix::build(c);
  EXPECT_THROW(cuda::build_profiles(c, m, {}, {"u0"}, {}), BackendError);
}

TEST(CudaProfiles, GeneratedDataWithDuplicatesAndShuffledRowsMatchesTheCpu) {
  SKIP_WITHOUT_DEVICE();
  TempDir dir;
  const GenOptions g = gen_options(500, 150, 60, 20240611);
  const GeneratedSet data = make_generated(dir, g);
  RejectLog rejects("", /*strict=*/true);
  Workspace ws = open_catalog(data.catalog(), rejects);
  LoadedEvents loaded = load_events(data.events(), ws.catalog, rejects);
  std::vector<Event> events = loaded.events;
  std::vector<std::string> users = loaded.user_ids;
  ASSERT_GT(events.size(), 1000u);

  std::mt19937_64 rng(g.seed);
  SCOPED_TRACE("seed " + std::to_string(g.seed));
  uint32_t next_line = uint32_t(loaded.rows) + 2;
  // Exact duplicates (their own line numbers), some twice.
  for (int k = 0; k < 60; ++k) {
    Event d = events[rng() % events.size()];
    d.line = next_line++;
    events.push_back(d);
    if (k % 5 == 0) {
      d.line = next_line++;
      events.push_back(d);
    }
  }
  // Near duplicates that must be kept (a different seek target, a different type at the same
  // second) and an exact copy separated from its twin by that other event, which must be dropped
  // as the CPU drops it (every kept event of the same second is compared, issue #15).
  for (size_t i = 0; i < events.size() && next_line < loaded.rows + 400; i += 97) {
    Event d = events[i];
    d.line = next_line++;
    if (d.type == T::Seek) {
      d.seek_to_s += 5;
      events.push_back(d);
    } else {
      Event other = d;
      other.type = d.type == T::Pause ? T::Resume : T::Pause;
      events.push_back(other);
      d.line = next_line++;
      events.push_back(d);
    }
  }
  // Rows out of order, and a few users with no events at all.
  std::shuffle(events.begin(), events.end(), rng);
  for (int k = 0; k < 3; ++k) users.push_back("silent" + std::to_string(k));

  EngagementOptions plain;
  EngagementOptions decay;
  decay.half_life_days = 30;
  EngagementOptions fixed;
  fixed.half_life_days = 7;
  fixed.as_of = 1700000000;
  fixed.complete_fraction = 0.8;
  fixed.max_playback_speed = 1.5;
  for (const auto& [name, o] : {std::pair{"plain", plain}, std::pair{"decay", decay}, std::pair{"fixed", fixed}}) {
    const Built cpu = build_cpu(ws.catalog, ws.titles, events, users, o);
    ASSERT_FALSE(cpu.stats.duplicates.empty());
    expect_same(build_gpu(ws.catalog, ws.titles, events, users, o), cpu, name);
  }
}

TEST(CudaProfiles, NoEventsLeavesEveryUserUnusable) {
  SKIP_WITHOUT_DEVICE();
  const Catalog c = tiny_catalog();
  const TitleMatrix m = TitleMatrix::build(c);
  const std::vector<std::string> users{"u0", "u1", "u2"};
  const Built gpu = build_gpu(c, m, {}, users, {});
  EXPECT_EQ(gpu.stats.unusable_users, 3u);
  EXPECT_EQ(gpu.stats.events_used, 0u);
  EXPECT_EQ(gpu.stats.as_of, 0);
  EXPECT_TRUE(gpu.profiles.seen.empty());
  EXPECT_EQ(gpu.profiles.seen_offsets, std::vector<uint64_t>(4, 0));
  for (float x : gpu.profiles.vectors) EXPECT_EQ(x, 0.0f);
  expect_same(gpu, build_cpu(c, m, {}, users, {}), "no events");
  // No users either.
  expect_same(build_gpu(c, m, {}, {}, {}), build_cpu(c, m, {}, {}, {}), "no users");
}

TEST(CudaProfiles, OnlyUntaggedTitlesMeansUnusable) {
  SKIP_WITHOUT_DEVICE();
  const Catalog c = tiny_catalog();
  const TitleMatrix m = TitleMatrix::build(c);
  ASSERT_EQ(m.untagged_titles(), std::vector<uint32_t>{2});
  const std::vector<std::string> users{"untagged_only", "tagged", "no_duration"};
  const std::vector<Event> events{
      ev(0, 2, 1000, T::Play, 0, 0, 2, 21),   ev(0, 2, 3400, T::Complete, 2400, 0, 3, 22),
      ev(1, 0, 500, T::Play, 0, 0, 4, 7),     ev(1, 0, 900, T::Stop, 400, 0, 5, 7),
      ev(1, 1, 2000, T::Play, 0, 0, 6, 8),    ev(1, 1, 3800, T::Complete, 1800, 0, 7, 8),
      ev(2, 3, 100, T::Play, 0, 0, 8, 23),    ev(2, 3, 700, T::Stop, 600, 0, 9, 23),
  };
  const Built cpu = build_cpu(c, m, events, users, {});
  const Built gpu = build_gpu(c, m, events, users, {});
  expect_same(gpu, cpu, "untagged");
  EXPECT_EQ(gpu.profiles.summaries[0].usable, 0);
  EXPECT_EQ(gpu.profiles.summaries[1].usable, 1);
  EXPECT_EQ(gpu.profiles.summaries[2].usable, 0);  // a title without duration weighs nothing
  EXPECT_EQ(gpu.stats.unusable_users, 2u);
  ASSERT_EQ(gpu.profiles.seen_offsets[1], 1u);
  EXPECT_EQ(gpu.profiles.seen[0].title, 2u);
  EXPECT_EQ(gpu.profiles.seen[0].completed, 1);
  EXPECT_NEAR(gpu.profiles.seen[0].weight, 0.8f, 1e-6);
  for (size_t j = 0; j < m.dim(); ++j) EXPECT_EQ(gpu.profiles.vector(0)[j], 0.0f);
  EXPECT_EQ(gpu.profiles.summaries[0].daypart[21], 1u);
}

TEST(CudaProfiles, EqualTimestampsKeepInputOrderAndExactRepeatsDropWhereverTheyFall) {
  SKIP_WITHOUT_DEVICE();
  const Catalog c = tiny_catalog();
  const TitleMatrix m = TitleMatrix::build(c);
  // At ts 100: play (line 10), its repeat (11, dropped), a pause (12), the play again (13, dropped
  // too: an exact repeat of 10 wherever it falls in that second, issue #15). Seeks at ts 300 differ
  // only in the target (both kept), then an exact repeat of the second (16, dropped, twin 15).
  const std::vector<Event> events{
      ev(0, 0, 400, T::Stop, 700, 0, 17),   ev(0, 0, 100, T::Play, 0, 0, 10),
      ev(0, 0, 100, T::Play, 0, 0, 11),     ev(0, 0, 100, T::Pause, 0, 0, 12),
      ev(0, 0, 100, T::Play, 0, 0, 13),     ev(0, 0, 300, T::Seek, 400, 900, 14),
      ev(0, 0, 300, T::Seek, 400, 600, 15), ev(0, 0, 300, T::Seek, 400, 600, 16),
      ev(1, 1, 50, T::Play, 0, 0, 18),      ev(1, 1, 50, T::Play, 0, 0, 19),
  };
  const std::vector<std::string> users{"a", "b"};
  const Built cpu = build_cpu(c, m, events, users, {});
  const std::vector<std::pair<uint32_t, uint32_t>> expected{{11, 10}, {13, 10}, {16, 15}, {19, 18}};
  ASSERT_EQ(cpu.stats.duplicates, expected);
  expect_same(build_gpu(c, m, events, users, {}), cpu, "ties");
}

TEST(CudaProfiles, WideTimestampRangeTakesTheTwoPassSort) {
  SKIP_WITHOUT_DEVICE();
  const Catalog c = tiny_catalog();
  const TitleMatrix m = TitleMatrix::build(c);
  // 4 users x 4 titles need 4 key bits; a timestamp range of 2^61 s leaves too few, so the builder
  // sorts by ts first and then by (user, title).
  const int64_t far = int64_t(1) << 61;
  std::vector<Event> events;
  uint32_t line = 2;
  for (uint32_t u = 0; u < 4; ++u)
    for (uint32_t t : {0u, 1u}) {
      const int64_t base = (u + t) % 2 ? far - 1000000 : 1000;
      events.push_back(ev(3 - u, t, base + 2000, T::Complete, 1800, 0, line++));
      events.push_back(ev(3 - u, t, base, T::Play, 0, 0, line++, uint8_t(u)));
      events.push_back(ev(3 - u, t, base, T::Play, 0, 0, line++, uint8_t(u)));  // a duplicate
    }
  events.push_back(ev(0, 2, 0, T::Play, 0, 0, line++));
  events.push_back(ev(0, 2, far, T::Stop, 100, 0, line++));
  const std::vector<std::string> users{"a", "b", "c", "d"};
  EngagementOptions o;
  o.half_life_days = 1e15;
  expect_same(build_gpu(c, m, events, users, o), build_cpu(c, m, events, users, o), "wide ts");
}

TEST(CudaProfiles, OutOfRangeIndicesAreArgumentErrorsAsOnTheCpu) {
  SKIP_WITHOUT_DEVICE();
  const Catalog c = tiny_catalog();
  const TitleMatrix m = TitleMatrix::build(c);
  const std::vector<std::string> users{"a", "b"};
  std::vector<Event> events{ev(0, 0, 1, T::Play, 0), ev(1, 9, 2, T::Play, 0), ev(5, 0, 3, T::Play, 0)};
  EXPECT_THROW(build_cpu(c, m, events, users, {}), ArgumentError);
  try {
    build_gpu(c, m, events, users, {});
    ADD_FAILURE() << "no error";
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("title index 9"), std::string::npos) << e.what();
  }
}
