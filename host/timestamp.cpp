#include "host/timestamp.h"

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
  return parse_iso(text, out);
}

}  // namespace marquee
