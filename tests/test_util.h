// Helpers shared by the tests: scratch directories, small files, running the CLI.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace marquee::test {

/// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    // The pid keeps parallel CTest processes (one per test) out of each other's way.
    std::string name = std::string("marquee_") + std::to_string(::getpid()) + "_" +
                       (info ? std::string(info->test_suite_name()) + "_" + info->name() : "suite");
    for (char& c : name)
      if (c == '/') c = '_';
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }
  std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

/// A small valid catalogue: 4 tags, 5 titles.
inline void write_small_catalog(const std::string& dir) {
  write_text(dir + "/tags.csv", "tag,category\ncomedy,genre\ndrama,genre\ndark,mood\nparis,setting\n");
  write_text(dir + "/titles.csv",
             "title_id,name,duration_s,release_year\n"
             "a,\"Alpha, the movie\",3600,2001\nb,Beta,3000,\nc,Gamma,1800,1999\nd,Delta,5400,2020\ne,Epsilon,2400,2024\n");
  write_text(dir + "/title_tags.csv",
             "title_id,tag,weight\n"
             "a,comedy,1\na,paris,0.5\nb,drama,1\nb,dark,0.8\nc,comedy,0.9\nc,dark,0.3\nd,drama,0.7\nd,paris,1\ne,comedy,0.2\n"
             "e,drama,0.2\ne,dark,0.2\n");
}

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

/// Runs a shell command, capturing its output and exit code.
inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  const std::string full = command + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

#ifdef MARQUEE_BIN
/// The `marquee` binary this test executable was built with (MARQUEE_BIN, from CMake).
inline const std::string kBin = MARQUEE_BIN;
/// Runs `marquee ARGS`, stdout and stderr together.
inline CommandResult run_marquee(const std::string& args) { return run_command(kBin + " " + args); }
#endif

}  // namespace marquee::test
