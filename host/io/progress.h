// Progress lines of long steps, with rate and ETA: "score: 120000/500000 users (41000 users/s, ETA
// 9 s)". They go to the log (stderr, info level, so --quiet hides them and --log-format json gives
// them fields), every couple of seconds while a step runs. They are on when stderr is a terminal, or
// everywhere with `--progress`; a step that printed a line, or any step under --progress, ends with
// a last line giving its total time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace marquee {

enum class ProgressMode { Auto, Always, Never };

/// Set once by the command line (--progress: Always); Auto until then.
void set_progress_mode(ProgressMode mode);
/// Always; or Auto and stderr is a terminal.
bool progress_enabled();

class Progress {
 public:
  /// `what` names the step ("score", "reading events.csv"); `unit` what is counted ("users", "MB");
  /// `total` how many there are (0: unknown, then lines show no ETA).
  Progress(std::string what, std::string unit, double total, double interval_s = 2.0);
  /// `done` of `total` so far: a line when `interval_s` passed since the last one (cheap otherwise:
  /// call it per item or per batch). `note` is added in the line ("1.2M rows").
  void update(double done, const std::string& note = "");
  /// The last line ("score: 500000 users in 12.3 s (40650 users/s)"), when lines are on and this step
  /// printed one or --progress asked for them. Called by the destructor if not before.
  void finish(const std::string& note = "");
  ~Progress();

  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

 private:
  using Clock = std::chrono::steady_clock;
  std::string what_, unit_;
  double total_;
  double interval_s_;
  double done_ = 0;
  Clock::time_point start_, last_;
  bool enabled_;
  bool printed_ = false;
  bool finished_ = false;
  int uncaught_at_start_ = 0;
};

/// "42 s", "3 min 20 s", "1 h 05 min": a duration as a person reads it.
std::string format_duration(double seconds);

}  // namespace marquee
