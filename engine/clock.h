// The one clock jobs, the server and the benchmarks time themselves with (monotonic: wall-clock
// changes never make a duration negative).
#pragma once

#include <chrono>

namespace marquee {

using Clock = std::chrono::steady_clock;

/// Seconds elapsed since `t0`.
inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace marquee
