// How log lines look: text ("[12:00:01 info] message") or, with `--log-format json`, one JSON object
// per line for log collectors: {"time": "2024-05-01T12:00:01.123Z", "level": "info", "message": "...",
// "fields": {...}}. Fields come from the caller (progress lines: step, done, total, rate, ETA) and
// from the message itself: a leading "FILE:LINE: " (rejected rows, input errors) becomes
// {"file": FILE, "line": LINE}.
#pragma once

#include <nlohmann/json.hpp>
#include <spdlog/common.h>

#include <string>

namespace marquee {

enum class LogFormat { Text, Json };

/// Parses "text" / "json"; throws ArgumentError otherwise.
LogFormat parse_log_format(const std::string& name);

/// Sets the default logger's format (its pattern for text).
void set_log_format(LogFormat format);

/// Logs `message` at `level` on the default logger, with `fields` in the JSON format.
void log_with_fields(spdlog::level::level_enum level, const std::string& message, const nlohmann::json& fields);

/// The fields a JSON line carries for `message` and the caller's `fields` (exposed for tests).
nlohmann::json log_fields_of(const std::string& message, const nlohmann::json* fields);

}  // namespace marquee
