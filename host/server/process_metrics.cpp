#include "host/server/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

#ifndef MARQUEE_VERSION_STRING
#define MARQUEE_VERSION_STRING "unknown"
#endif

namespace marquee::server {
namespace {

// Fields of /proc/self/stat after the command name (which may contain spaces): [0] is field 3.
std::vector<std::string> stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  const size_t close = line.rfind(')');
  std::vector<std::string> out;
  if (close == std::string::npos) return out;
  std::istringstream rest(line.substr(close + 1));
  for (std::string f; rest >> f;) out.push_back(f);
  return out;
}

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double t = 0;
      in >> t;
      return t;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

size_t open_fds() {
  size_t n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (const dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
    if (n > 0) --n;  // the directory stream's own descriptor
  }
  return n;
}

}  // namespace

void declare_process_metrics(Metrics& m, const std::string& backend) {
  m.add_gauge("process_resident_memory_bytes", "resident memory size in bytes");
  m.add_gauge("process_virtual_memory_bytes", "virtual memory size in bytes");
  m.add_counter("process_cpu_seconds_total", "user and system CPU time spent in seconds");
  m.add_gauge("process_open_fds", "open file descriptors");
  m.add_gauge("process_max_fds", "the open-files limit (RLIMIT_NOFILE)");
  m.add_gauge("process_start_time_seconds", "start time of the process since the Unix epoch in seconds");
  m.add_gauge("marquee_build_info", "1, labelled with the version and the scoring backend of this server");
  m.set_only("marquee_build_info", {{"version", MARQUEE_VERSION_STRING}, {"backend", backend}}, 1);
  update_process_metrics(m);
}

void update_process_metrics(Metrics& m) {
  const std::vector<std::string> f = stat_fields();
  const double ticks = double(sysconf(_SC_CLK_TCK)), page = double(sysconf(_SC_PAGESIZE));
  // man 5 proc: utime 14, stime 15, starttime 22, vsize 23, rss 24 (1-based; f[0] is field 3).
  if (f.size() > 21 && ticks > 0) {
    m.set_total("process_cpu_seconds_total", {}, (std::stod(f[11]) + std::stod(f[12])) / ticks);
    static const double start = boot_time_seconds() + std::stod(f[19]) / ticks;
    m.set("process_start_time_seconds", {}, start);
    m.set("process_virtual_memory_bytes", {}, std::stod(f[20]));
    m.set("process_resident_memory_bytes", {}, std::stod(f[21]) * page);
  }
  m.set("process_open_fds", {}, double(open_fds()));
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) m.set("process_max_fds", {}, double(files.rlim_cur));
}

}  // namespace marquee::server
