// The `marquee` subcommands, one file each (docs/cli.md). Each add_* adds its subcommand to the app
// with its flags, and a callback that runs the job once the command line has parsed. Errors leave the
// callbacks as exceptions; main() maps them to exit codes, in one place.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace marquee::cli {

// Exit codes (docs/cli.md).
constexpr int kExitRuntime = 1, kExitUsage = 2, kExitInput = 3, kExitBackend = 4;

void add_gen(CLI::App& app);              // gen.cpp
void add_profile(CLI::App& app);          // profile.cpp
void add_train(CLI::App& app);            // train.cpp
void add_score(CLI::App& app);            // score.cpp
void add_daypart(CLI::App& app);          // daypart.cpp
void add_eval_recs(CLI::App& app);        // eval_recs.cpp
void add_similar(CLI::App& app);          // similar.cpp
void add_explain(CLI::App& app);          // explain.cpp
void add_project(CLI::App& app);          // project.cpp
void add_segment(CLI::App& app);          // segment.cpp
void add_eval_projection(CLI::App& app);  // eval_projection.cpp
void add_completion(CLI::App& app);       // completion.cpp

/// The completion script of `app` for `shell` ("bash" or "zsh"), built from its subcommands and flags.
std::string completion_script(const CLI::App& app, const std::string& shell);

// These two can end with an exit code other than 0 without an error: their callback stores it in
// `exit_code` (kExitBackend when `devices --self-test` ran and failed; run_serve's code for serve).
void add_devices(CLI::App& app, int& exit_code);  // devices.cpp
void add_serve(CLI::App& app, int& exit_code);    // serve.cpp

}  // namespace marquee::cli
