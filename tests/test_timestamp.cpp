#include "host/io/timestamp.h"

#include <gtest/gtest.h>

using namespace marquee;

TEST(Timestamp, EpochSecondsAreUtc) {
  Timestamp t;
  ASSERT_TRUE(parse_timestamp("1767225600", t));  // 2026-01-01T00:00:00Z
  EXPECT_EQ(t.epoch, 1767225600);
  EXPECT_EQ(t.local_hour, 0);
  ASSERT_TRUE(parse_timestamp("1767229200.75", t));
  EXPECT_EQ(t.epoch, 1767229200);
  EXPECT_EQ(t.local_hour, 1);
}

TEST(Timestamp, IsoWithOffsetKeepsTheLocalHour) {
  Timestamp t;
  ASSERT_TRUE(parse_timestamp("2026-01-01T21:30:00-05:00", t));
  EXPECT_EQ(t.epoch, 1767225600 + 86400 + 2 * 3600 + 1800);  // 2026-01-02T02:30Z
  EXPECT_EQ(t.local_hour, 21);
  ASSERT_TRUE(parse_timestamp("2026-01-01T09:15:00+05:30", t));
  EXPECT_EQ(t.epoch, 1767225600 + 3 * 3600 + 45 * 60);  // 03:45Z
  EXPECT_EQ(t.local_hour, 9);
  ASSERT_TRUE(parse_timestamp("2026-01-01 23:00:00.250+0100", t));
  EXPECT_EQ(t.epoch, 1767225600 + 22 * 3600);
  EXPECT_EQ(t.local_hour, 23);
}

TEST(Timestamp, IsoWithoutOffsetOrWithZIsUtc) {
  Timestamp t;
  ASSERT_TRUE(parse_timestamp("2026-01-01T07:00:00Z", t));
  EXPECT_EQ(t.epoch, 1767225600 + 7 * 3600);
  EXPECT_EQ(t.local_hour, 7);
  ASSERT_TRUE(parse_timestamp("2026-01-01T07:00:00", t));
  EXPECT_EQ(t.epoch, 1767225600 + 7 * 3600);
}

TEST(Timestamp, RejectsGarbageAndImpossibleDates) {
  Timestamp t;
  for (const char* bad : {"", "yesterday", "2026-13-01T00:00:00Z", "2026-02-30T10:00:00Z", "2026-01-01T25:00:00Z",
                          "-5", "2026-01-01T10:00:00+05:00junk", "12abc", "2301-01-01T00:00:00Z"})
    EXPECT_FALSE(parse_timestamp(bad, t)) << bad;
}
