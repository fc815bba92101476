// The standard process_* series of Prometheus client libraries, read from /proc/self on each scrape
// (Linux), and marquee_build_info: what a dashboard expects of any service.
#pragma once

#include "host/server/metrics.h"

#include <string>

namespace marquee::server {

/// Declares process_resident_memory_bytes, process_virtual_memory_bytes, process_cpu_seconds_total,
/// process_open_fds, process_max_fds, process_start_time_seconds and marquee_build_info{version,backend}
/// (set to 1 once).
void declare_process_metrics(Metrics& metrics, const std::string& backend);
/// Refreshes the process_* series from /proc/self; series that cannot be read keep their last value.
void update_process_metrics(Metrics& metrics);

}  // namespace marquee::server
