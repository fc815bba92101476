#include "host/io/timestamp.h"

#include <date/date.h>
#include <gtest/gtest.h>

#include <charconv>
#include <random>
#include <string>

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

namespace {
// The parser as it was before the inline calendar and digit reading (date library, from_chars):
// the reference the fast one must agree with on every input.
namespace reference {
constexpr int64_t kMaxEpoch = 7258118400;

bool finish(int64_t epoch, int offset_minutes, Timestamp& out) {
  if (epoch < 0 || epoch >= kMaxEpoch) return false;
  out.epoch = epoch;
  const int64_t local = epoch + int64_t(offset_minutes) * 60;
  out.local_hour = int(((local % 86400) + 86400) % 86400 / 3600);
  return true;
}

bool parse_epoch(std::string_view s, Timestamp& out) {
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || !(value >= 0) || !(value < double(kMaxEpoch))) return false;
  return finish(int64_t(value), 0, out);
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  auto [end, ec] = std::from_chars(s.data() + pos, s.data() + pos + n, out);
  return ec == std::errc() && end == s.data() + pos + n;
}

bool parse_iso(std::string_view s, Timestamp& out) {
  int y, mo, d, h, mi, sec;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
    return false;
  if (!digits(s, 0, 4, y) || !digits(s, 5, 2, mo) || !digits(s, 8, 2, d) || !digits(s, 11, 2, h) ||
      !digits(s, 14, 2, mi) || !digits(s, 17, 2, sec))
    return false;
  std::string_view rest = s.substr(19);
  if (!rest.empty() && rest[0] == '.') {
    size_t n = 1;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    if (n == 1) return false;
    rest.remove_prefix(n);
  }
  int offset_minutes = 0;
  if (rest == "Z" || rest == "z" || rest.empty()) {
  } else if ((rest[0] == '+' || rest[0] == '-') && (rest.size() == 6 || rest.size() == 5)) {
    int oh, om;
    const bool colon = rest.size() == 6;
    if (colon && rest[3] != ':') return false;
    if (!digits(rest, 1, 2, oh) || !digits(rest, colon ? 4 : 3, 2, om) || om > 59 || oh * 60 + om > 14 * 60)
      return false;
    offset_minutes = (rest[0] == '-' ? -1 : 1) * (oh * 60 + om);
  } else {
    return false;
  }
  const date::year_month_day ymd{date::year{y}, date::month{unsigned(mo)}, date::day{unsigned(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return false;
  const int64_t days = date::sys_days(ymd).time_since_epoch().count();
  const int64_t local = days * 86400 + h * 3600 + mi * 60 + sec;
  return finish(local - int64_t(offset_minutes) * 60, offset_minutes, out);
}

bool parse_timestamp(std::string_view text, Timestamp& out) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return false;
  if (text.size() < 10 || text[4] != '-') return parse_epoch(text, out);
  return parse_iso(text, out);
}
}  // namespace reference

void expect_same(const std::string& text) {
  Timestamp got{-1, -1}, want{-1, -1};
  const bool ok = parse_timestamp(text, got);
  ASSERT_EQ(ok, reference::parse_timestamp(text, want)) << "'" << text << "'";
  if (ok) {
    ASSERT_TRUE(got.epoch == want.epoch && got.local_hour == want.local_hour) << "'" << text << "'";
  }
}

std::string two(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }
}  // namespace

// Every day number 00..32 of every month number 00..13 of 1969..2201 (leap years, the 2100 and 2200
// non-leap centuries, the range ends), at times and offsets that move the local hour and the date.
TEST(Timestamp, AgreesWithTheDateLibraryOnEveryDate) {
  size_t accepted = 0;
  for (int y = 1969; y <= 2201; ++y)
    for (int m = 0; m <= 13; ++m)
      for (int d = 0; d <= 32; ++d) {
        const std::string date = std::to_string(y) + "-" + two(m) + "-" + two(d);
        for (const char* time : {"T00:00:00Z", "T23:59:60-14:00", " 12:30:59.5+0530"}) {
          expect_same(date + time);
          Timestamp t;
          accepted += parse_timestamp(date + time, t);
        }
      }
  EXPECT_GT(accepted, 250000u);  // 230 years of days, three times
}

// Random timestamps, well-formed and broken (a byte changed, cut short, spaces, signs), against the
// reference: same answer, same epoch and local hour.
TEST(Timestamp, AgreesWithTheReferenceOnRandomText) {
  const unsigned seed = 1202;
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937 rng(seed);
  const std::string noise = "0123456789-+:.TZz eE";
  for (int n = 0; n < 200000; ++n) {
    std::string s;
    if (rng() % 5 == 0) {
      s = std::to_string(rng() % 8000000000ull) + (rng() % 3 == 0 ? "." + std::to_string(rng() % 1000) : "");
    } else {
      s = std::to_string(1960 + rng() % 250) + "-" + two(rng() % 14) + "-" + two(rng() % 33) + (rng() % 2 ? "T" : " ") +
          two(rng() % 26) + ":" + two(rng() % 62) + ":" + two(rng() % 62);
      if (rng() % 3 == 0) s += "." + std::to_string(rng() % 1000);
      switch (rng() % 5) {
        case 0: s += "Z"; break;
        case 1: s += std::string(rng() % 2 ? "+" : "-") + two(rng() % 16) + ":" + two(rng() % 61); break;
        case 2: s += std::string(rng() % 2 ? "+" : "-") + two(rng() % 16) + two(rng() % 61); break;
        default: break;
      }
    }
    if (rng() % 3 == 0 && !s.empty()) s[rng() % s.size()] = noise[rng() % noise.size()];
    if (rng() % 6 == 0) s.resize(rng() % (s.size() + 1));
    if (rng() % 10 == 0) s = " " + s + " ";
    expect_same(s);
  }
}
