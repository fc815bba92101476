#include "host/io/timestamp.h"

#include <charconv>
#include <ctime>
#include <string>

namespace marquee {
namespace {

constexpr int64_t kMaxEpoch = 7258118400;  // 2200-01-01

bool finish(int64_t epoch, int offset_minutes, Timestamp& out) {
  if (epoch < 0 || epoch >= kMaxEpoch) return false;
  out.epoch = epoch;
  // local >= -14 h (offsets are at most 14 h): a day added keeps it positive, and unsigned
  // arithmetic by constants compiles to multiplications (GCC divided the signed form with idiv).
  const auto local = uint64_t(epoch + int64_t(offset_minutes) * 60 + 86400);
  out.local_hour = int(local % 86400 / 3600);
  return true;
}

// Days from 1970-01-01 to year-month-day of the proleptic Gregorian calendar (H. Hinnant's
// days_from_civil, the date library's own algorithm), for a date already checked valid.
int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = unsigned(y - era * 400);                          // [0, 399]
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;        // [0, 146096]
  return int64_t(era) * 146097 + int64_t(doe) - 719468;
}

bool valid_date(int y, int m, int d) {
  if (m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

bool parse_epoch(std::string_view s, Timestamp& out) {
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  // The range check comes before the conversion: int64_t(inf) or int64_t(1e300) is undefined.
  if (ec != std::errc() || end != s.data() + s.size() || !(value >= 0) || !(value < double(kMaxEpoch))) return false;
  return finish(int64_t(value), 0, out);
}

// `n` (at most 4) ASCII digits at `pos`, and nothing else: no sign, no space.
inline bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int value = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    const unsigned d = unsigned(static_cast<unsigned char>(s[i])) - unsigned('0');
    if (d > 9) return false;
    value = value * 10 + int(d);
  }
  out = value;
  return true;
}

// ISO-8601 as docs/formats.md writes it, and nothing else: "YYYY-MM-DD", 'T' or ' ', "HH:MM:SS",
// optional fraction ".f..." (dropped: seconds are the resolution), then nothing (UTC), 'Z', or an
// offset "+HH:MM" / "+HHMM" of at most 14:00 (the widest in use) with minutes below 60. Read by
// hand, without a stream: at a billion events, istringstream per row is the profile job's hot spot,
// and the date library's stream parser reads an uninitialised field when the time is cut short
// ("2026-01-08T00"). The calendar arithmetic is the date library's algorithm, inline (tests compare
// the two over every month and day of three centuries).
bool parse_iso(std::string_view s, Timestamp& out) {
  int y, mo, d, h, mi, sec;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
    return false;
  if (!digits(s, 0, 4, y) || !digits(s, 5, 2, mo) || !digits(s, 8, 2, d) || !digits(s, 11, 2, h) ||
      !digits(s, 14, 2, mi) || !digits(s, 17, 2, sec))
    return false;
  std::string_view rest = s.substr(19);
  if (!rest.empty() && rest[0] == '.') {  // fraction of a second: at least one digit
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
    return false;  // "+05", "+5:30", trailing text: not a timestamp
  }
  if (!valid_date(y, mo, d) || h > 23 || mi > 59 || sec > 60) return false;
  const int64_t days = days_from_civil(y, unsigned(mo), unsigned(d));
  const int64_t local = days * 86400 + h * 3600 + mi * 60 + sec;
  return finish(local - int64_t(offset_minutes) * 60, offset_minutes, out);
}

}  // namespace

bool parse_timestamp(std::string_view text, Timestamp& out) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return false;
  if (text.size() < 10 || text[4] != '-') return parse_epoch(text, out);
  return parse_iso(text, out);
}

std::string format_utc(int64_t epoch) {
  const std::time_t t = std::time_t(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace marquee
