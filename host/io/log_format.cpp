#include "host/io/log_format.h"

#include "engine/error.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <regex>

namespace marquee {

namespace {
// The caller's fields of the line being logged now (spdlog formats synchronously, on the caller's
// thread, so a thread-local pointer carries them to the formatter).
thread_local const nlohmann::json* t_fields = nullptr;

std::string iso_time(spdlog::log_clock::time_point tp) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
  const std::time_t secs = std::time_t(ms / 1000);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03}Z", buf, ms % 1000);
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string message(msg.payload.data(), msg.payload.size());
    const nlohmann::ordered_json line{{"time", iso_time(msg.time)},
                              {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                                                    spdlog::level::to_string_view(msg.level).size())},
                              {"message", message},
                              {"fields", log_fields_of(message, t_fields)}};
    // Bytes that are not UTF-8 (a broken id in a message) are replaced, never a failed log line.
    const std::string text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};
}  // namespace

LogFormat parse_log_format(const std::string& name) {
  if (name == "text") return LogFormat::Text;
  if (name == "json") return LogFormat::Json;
  MARQUEE_THROW_AS(ArgumentError, "--log-format '{}': expected text or json", name);
}

void set_log_format(LogFormat format) {
  if (format == LogFormat::Json) spdlog::default_logger()->set_formatter(std::make_unique<JsonFormatter>());
  else spdlog::default_logger()->set_formatter(std::make_unique<spdlog::pattern_formatter>("%^[%H:%M:%S %l]%$ %v"));
}

nlohmann::json log_fields_of(const std::string& message, const nlohmann::json* fields) {
  nlohmann::json out = fields && fields->is_object() ? *fields : nlohmann::json::object();
  // "events.csv:12: unknown title_id 'x'" -> file, line.
  static const std::regex kFileLine(R"(^([^\s:][^:]*):([0-9]+): )");
  std::smatch m;
  if (std::regex_search(message, m, kFileLine) && !out.contains("file")) {
    out["file"] = m[1].str();
    out["line"] = std::stoull(m[2].str());
  }
  return out;
}

void log_with_fields(spdlog::level::level_enum level, const std::string& message, const nlohmann::json& fields) {
  t_fields = &fields;
  spdlog::log(level, "{}", message);
  t_fields = nullptr;
}

}  // namespace marquee
