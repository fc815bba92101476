// The checks every subcommand shares, kept in one place so that a new subcommand gets them by
// naming its flags as the others do (docs/operations.md, "Limits"):
//   - numbers: every floating-point flag must be finite; --threads, --half-life-days,
//     --hybrid-*, --max-reject-rate have ranges (a usage error, exit 2, otherwise);
//   - paths: an output (--out, --report, --users-out, --rows, --rejects and the side files derived
//     from --out) may not be an input file, lie inside the catalogue or model folder, hold an input
//     (a folder output), or be another output (exit 2, before anything is read or written).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace marquee::cli {

/// Largest --threads (0 = all cores): more only oversubscribes, and the OpenMP runtime crashes far above it.
constexpr int kMaxThreads = 1024;
/// Largest --half-life-days (a century: beyond it recency decay is off in all but name).
constexpr double kMaxHalfLifeDays = 36500;
/// Largest --hybrid-tags / --hybrid-popularity.
constexpr double kMaxHybridWeight = 1e6;

/// Attaches the number checks to the flags of every subcommand of `app` (call after adding them).
void add_value_checks(CLI::App& app);

/// The paths a parsed subcommand reads and writes, by flag.
struct PathRoles {
  struct Path {
    std::string flag;  // "--out", or "--out (its rejects file)" for a derived side file
    std::string path;
  };
  std::vector<Path> inputs;           // files and folders read
  std::vector<Path> protected_dirs;   // folders nothing may be written into (--catalog, --model-dir)
  std::vector<Path> outputs;          // files and folders written
};

/// What `sub` (parsed) reads and writes.
PathRoles path_roles(const CLI::App& sub);

/// Throws ArgumentError when an output would overwrite or land among the inputs (see above).
void check_output_paths(const PathRoles& roles);

/// check_output_paths for the subcommand that was parsed (call from the app's parse-complete callback).
void check_output_paths(const CLI::App& app);

}  // namespace marquee::cli
