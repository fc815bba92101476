#include "host/io/progress.h"

#include "host/io/log_format.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <exception>

namespace marquee {

namespace {
std::atomic<ProgressMode> g_mode{ProgressMode::Auto};

// 41000, 9.5, 0.25: integers for large amounts, a few digits for small ones.
std::string amount(double v) {
  if (v >= 100 || v == std::floor(v)) return fmt::format("{:.0f}", v);
  return v >= 10 ? fmt::format("{:.1f}", v) : fmt::format("{:.2f}", v);
}
}  // namespace

void set_progress_mode(ProgressMode mode) { g_mode = mode; }

bool progress_enabled() {
  switch (g_mode.load()) {
    case ProgressMode::Always: return true;
    case ProgressMode::Never: return false;
    case ProgressMode::Auto: break;
  }
  return isatty(STDERR_FILENO) == 1;
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) return fmt::format("{:.0f} s", std::ceil(s));
  if (s < 3600) return fmt::format("{} min {:02} s", int(s / 60), int(s) % 60);
  return fmt::format("{} h {:02} min", int(s / 3600), int(s / 60) % 60);
}

Progress::Progress(std::string what, std::string unit, double total, double interval_s)
    : what_(std::move(what)),
      unit_(std::move(unit)),
      total_(total),
      interval_s_(interval_s),
      start_(Clock::now()),
      last_(start_),
      enabled_(progress_enabled()),
      uncaught_at_start_(std::uncaught_exceptions()) {}

Progress::~Progress() {
  // Left by an exception: the step did not finish, so no "done" line.
  if (std::uncaught_exceptions() > uncaught_at_start_) finished_ = true;
  finish();
}

void Progress::update(double done, const std::string& note) {
  done_ = done;
  if (!enabled_ || finished_) return;
  const auto now = Clock::now();
  if (std::chrono::duration<double>(now - last_).count() < interval_s_) return;
  last_ = now;
  printed_ = true;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = done / std::max(elapsed, 1e-9);
  const bool eta_known = total_ > 0 && rate > 0;
  const double eta = eta_known ? (total_ - done) / rate : 0;
  std::string msg = total_ > 0 ? fmt::format("{}: {}/{} {}", what_, amount(done), amount(total_), unit_)
                               : fmt::format("{}: {} {}", what_, amount(done), unit_);
  msg += fmt::format(" ({} {}/s{}{}{})", amount(rate), unit_, eta_known ? ", ETA " + format_duration(eta) : "",
                     note.empty() ? "" : "; ", note);
  nlohmann::json fields{{"step", what_}, {"done", done}, {"unit", unit_}, {"rate_per_s", rate},
                        {"elapsed_s", elapsed}};
  if (total_ > 0) fields["total"] = total_;
  if (eta_known) fields["eta_s"] = eta;
  log_with_fields(spdlog::level::info, msg, fields);
}

void Progress::finish(const std::string& note) {
  if (finished_) return;
  finished_ = true;
  if (!enabled_ || !(printed_ || g_mode.load() == ProgressMode::Always)) return;
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const double done = done_ > 0 ? done_ : total_;
  const double rate = done / std::max(elapsed, 1e-9);
  log_with_fields(spdlog::level::info,
                  fmt::format("{}: {} {} in {:.1f} s ({} {}/s{}{})", what_, amount(done), unit_, elapsed, amount(rate),
                              unit_, note.empty() ? "" : "; ", note),
                  {{"step", what_}, {"done", done}, {"unit", unit_}, {"rate_per_s", rate}, {"elapsed_s", elapsed},
                   {"finished", true}});
}

}  // namespace marquee
