// Hand-built event sequences with hand-computed weights (docs/engagement.md has the formula).
#include "engine/engagement.h"

#include <gtest/gtest.h>

#include <vector>

using namespace marquee;

namespace {
Event ev(int64_t ts, EventType type, float pos, float seek_to = 0, uint8_t hour = 20) {
  Event e;
  e.ts = ts;
  e.type = type;
  e.position_s = pos;
  e.seek_to_s = seek_to;
  e.local_hour = hour;
  return e;
}
Engagement run(const std::vector<Event>& events, double duration, EngagementOptions o = {}) {
  return EngagementModel(o).summarise(events.data(), events.size(), duration);
}
using T = EventType;
}  // namespace

TEST(Engagement, CompletedWatchWeighsPointEight) {
  const Engagement e = run({ev(1000, T::Play, 0), ev(4600, T::Complete, 3600)}, 3600);
  EXPECT_TRUE(e.completed);
  EXPECT_FALSE(e.abandoned);
  EXPECT_DOUBLE_EQ(e.watched_s, 3600);
  EXPECT_EQ(e.sessions, 1u);
  EXPECT_FLOAT_EQ(e.weight, 0.8f);
}

TEST(Engagement, AbandonedEarlyIsNegative) {
  const Engagement e = run({ev(0, T::Play, 0), ev(300, T::Stop, 300)}, 3000);
  EXPECT_TRUE(e.abandoned);
  EXPECT_DOUBLE_EQ(e.furthest_fraction, 0.1);
  EXPECT_NEAR(e.weight, 0.8 * 0.1 - 0.5 * 0.9, 1e-6);  // -0.37
}

TEST(Engagement, PausedMidwayIsInProgressNotAbandoned) {
  const Engagement e = run({ev(0, T::Play, 0), ev(600, T::Pause, 600)}, 3000);
  EXPECT_FALSE(e.abandoned);
  EXPECT_EQ(e.pauses, 1u);
  EXPECT_NEAR(e.weight, 0.8 * 0.2, 1e-6);
}

TEST(Engagement, HistoryEndingMidSessionCountsAsAbandoned) {
  const Engagement e = run({ev(0, T::Play, 0), ev(300, T::Pause, 300), ev(400, T::Resume, 300)}, 3000);
  EXPECT_TRUE(e.abandoned);
  EXPECT_NEAR(e.weight, 0.8 * 0.1 - 0.5 * 0.9, 1e-6);
}

TEST(Engagement, HeavySkippingIsPenalised) {
  const Engagement e = run({ev(0, T::Play, 0), ev(100, T::Seek, 100, 2000), ev(1100, T::Complete, 3000)}, 3000);
  EXPECT_EQ(e.skips, 1u);
  EXPECT_DOUBLE_EQ(e.skipped_s, 1900);
  EXPECT_DOUBLE_EQ(e.watched_s, 1100);
  EXPECT_NEAR(e.weight, 0.8 - 0.5 * 1900.0 / 3000.0, 1e-6);
}

TEST(Engagement, UnreportedJumpIsASkipNotWatchedTime) {
  // Position jumps 3000 s in 100 s of wall-clock time: at most 2x speed is credited.
  const Engagement e = run({ev(0, T::Play, 0), ev(100, T::Stop, 3000)}, 3000);
  EXPECT_DOUBLE_EQ(e.watched_s, 200);
  EXPECT_DOUBLE_EQ(e.skipped_s, 2800);
  EXPECT_TRUE(e.completed);
  EXPECT_NEAR(e.weight, 0.8 - 0.5 * 2800.0 / 3000.0, 1e-6);
}

TEST(Engagement, ResumedAfterStopAndCompletedEarnsABonus) {
  const Engagement e = run(
      {ev(0, T::Play, 0), ev(1000, T::Stop, 1000), ev(90000, T::Play, 1000), ev(92000, T::Complete, 3000)}, 3000);
  EXPECT_TRUE(e.resumed_after_stop);
  EXPECT_FALSE(e.abandoned);
  EXPECT_EQ(e.sessions, 2u);
  EXPECT_NEAR(e.weight, 0.85, 1e-6);
}

TEST(Engagement, RewatchEarnsABonus) {
  const Engagement e = run(
      {ev(0, T::Play, 0), ev(3000, T::Complete, 3000), ev(100000, T::Play, 0), ev(103000, T::Complete, 3000)}, 3000);
  EXPECT_EQ(e.rewatches, 1u);
  EXPECT_NEAR(e.weight, 0.9, 1e-6);
}

TEST(Engagement, RewindsShowAttention) {
  const Engagement e = run({ev(0, T::Play, 0), ev(500, T::Seek, 500, 400), ev(700, T::Seek, 600, 500),
                            ev(900, T::Seek, 700, 600), ev(3300, T::Complete, 3000)},
                           3000);
  EXPECT_EQ(e.rewinds, 3u);
  EXPECT_EQ(e.skips, 0u);
  EXPECT_NEAR(e.weight, 0.85, 1e-6);
}

TEST(Engagement, AbandonedAndSkippingClampsAtMinusOne) {
  EngagementModel m;
  Engagement e;
  e.abandoned = true;
  e.skipped_s = 5000;
  EXPECT_FLOAT_EQ(m.combine(e, 3000), -1.0f);  // -0.5 (nothing watched) - 0.5 (all skipped)
  e.rewinds = 3;
  EXPECT_FLOAT_EQ(m.combine(e, 3000), -0.95f);
}

TEST(Engagement, RecencyHalvesEachHalfLife) {
  EngagementOptions o;
  o.half_life_days = 10;
  EngagementModel m(o);
  EXPECT_FLOAT_EQ(m.recency(0, 10 * 86400), 0.5f);
  EXPECT_FLOAT_EQ(m.recency(0, 20 * 86400), 0.25f);
  EXPECT_FLOAT_EQ(m.recency(100, 100), 1.0f);
  EXPECT_FLOAT_EQ(EngagementModel().recency(0, 1000 * 86400), 1.0f);  // off by default
}

TEST(Engagement, FirstSessionHourIsKept) {
  const Engagement e = run({ev(0, T::Play, 0, 0, 23), ev(60, T::Pause, 60, 0, 23)}, 3000);
  EXPECT_EQ(e.first_local_hour, 23);
}
