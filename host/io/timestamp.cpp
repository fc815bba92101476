#include "host/io/timestamp.h"

#include <ctime>

#include <date/date.h>

#include <charconv>
#include <chrono>
#include <sstream>
#include <string>

namespace marquee {
namespace {

constexpr int64_t kMaxEpoch = 7258118400;  // 2200-01-01

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
  if (ec != std::errc() || end != s.data() + s.size() || !(value >= 0)) return false;
  return finish(int64_t(value), 0, out);
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  auto [end, ec] = std::from_chars(s.data() + pos, s.data() + pos + n, out);
  return ec == std::errc() && end == s.data() + pos + n;
}

// The layout players write ("2026-01-01T21:30:00-05:00", "...Z", "...+0530", no offset), read
// without a stream: at a billion events, istringstream per row is the profile job's hot spot.
// Calendar arithmetic and validation still come from the date library. Anything else (fractions,
// other layouts) goes to the general parser below.
bool parse_iso_fast(std::string_view s, Timestamp& out, bool& handled) {
  handled = false;
  int y, mo, d, h, mi, sec;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
    return false;
  if (!digits(s, 0, 4, y) || !digits(s, 5, 2, mo) || !digits(s, 8, 2, d) || !digits(s, 11, 2, h) ||
      !digits(s, 14, 2, mi) || !digits(s, 17, 2, sec))
    return false;
  int offset_minutes = 0;
  const std::string_view rest = s.substr(19);
  if (rest == "Z" || rest == "z" || rest.empty()) {
  } else if ((rest[0] == '+' || rest[0] == '-') && (rest.size() == 6 || rest.size() == 5)) {
    int oh, om;
    const bool colon = rest.size() == 6;
    if (colon && rest[3] != ':') return false;
    if (!digits(rest, 1, 2, oh) || !digits(rest, colon ? 4 : 3, 2, om) || oh > 23 || om > 59) return false;
    offset_minutes = (rest[0] == '-' ? -1 : 1) * (oh * 60 + om);
  } else {
    return false;  // fractional seconds or another layout: not ours
  }
  handled = true;
  const date::year_month_day ymd{date::year{y}, date::month{unsigned(mo)}, date::day{unsigned(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return false;
  const int64_t days = date::sys_days(ymd).time_since_epoch().count();
  const int64_t local = days * 86400 + h * 3600 + mi * 60 + sec;
  return finish(local - int64_t(offset_minutes) * 60, offset_minutes, out);
}

// ISO-8601 through Howard Hinnant's date library (the basis of C++20 <chrono> calendars).
bool parse_iso(std::string_view s, Timestamp& out) {
  std::string text(s);
  if (text.size() > 10 && text[10] == ' ') text[10] = 'T';
  const bool zulu = !text.empty() && (text.back() == 'Z' || text.back() == 'z');
  if (zulu) text.pop_back();
  // Does it end with an offset (+HH:MM, -HH:MM, +HHMM, -HHMM) after the time part?
  const auto sign = text.find_first_of("+-", 11);
  const bool has_offset = !zulu && sign != std::string::npos;

  std::istringstream in(text);
  date::sys_time<std::chrono::milliseconds> tp;
  std::chrono::minutes offset{0};
  if (has_offset) {
    const bool colon = text.find(':', sign) != std::string::npos;
    in >> date::parse(colon ? "%FT%T%Ez" : "%FT%T%z", tp, offset);
  } else {
    in >> date::parse("%FT%T", tp);
  }
  if (in.fail() || in.peek() != std::char_traits<char>::eof()) return false;
  // date::parse has already subtracted the offset: tp is UTC.
  return finish(std::chrono::floor<std::chrono::seconds>(tp).time_since_epoch().count(), int(offset.count()), out);
}

}  // namespace

bool parse_timestamp(std::string_view text, Timestamp& out) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return false;
  if (text.size() < 10 || text[4] != '-') return parse_epoch(text, out);
  bool handled = false;
  const bool ok = parse_iso_fast(text, out, handled);
  return handled ? ok : parse_iso(text, out);
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
