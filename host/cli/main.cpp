// `marquee`: the command line. Subcommands and their flags are a contract (docs/cli.md); add
// flags freely, never change the meaning of existing ones. Each subcommand lives in its own file
// (commands.h lists them); this file holds the global flags and maps errors to exit codes.
#include "engine/blas_cores.h"
#include "engine/error.h"
#include "host/cli/commands.h"
#include "host/cli/guards.h"
#include "host/cli/usage_help.h"
#include "host/io/log_format.h"
#include "host/io/progress.h"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <exception>
#include <string>

using namespace marquee;
using namespace marquee::cli;

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("marquee");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%^[%H:%M:%S %l]%$ %v");

  CLI::App app{"Marquee: similarity engine for viewing behaviour and expert tags"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "marquee 0.1.0");
  std::string log_level = "info", log_format = "text";
  bool quiet = false, progress = false;
  // --log-format json applies from the first line, the command-line checks' own included.
  bool json_logs = false;
  for (int i = 1; i < argc; ++i) {
    const bool split = std::strcmp(argv[i], "--log-format") == 0 && i + 1 < argc;
    if (std::strcmp(argv[i], "--log-format=json") == 0 || (split && std::strcmp(argv[i + 1], "json") == 0))
      json_logs = true;
  }
  if (json_logs) set_log_format(LogFormat::Json);
  // Global flags work before or after the subcommand (`marquee similar ... --log-level warn`).
  app.fallthrough();
  auto* level_opt = app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")
                        ->capture_default_str()
                        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_flag("--quiet,-q", quiet, "warnings and errors only (--log-level warn)")->excludes(level_opt);
  app.add_option("--log-format", log_format, "text|json: json writes one object per line (time, level, message, fields)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--progress", progress,
               "progress lines (rate, ETA) on stderr even when it is not a terminal (on a terminal they are on)");
  // Runs once the whole command line has parsed and been checked, before the subcommand's callback.
  // It also refuses an output path that would overwrite an input (host/cli/guards.h).
  app.parse_complete_callback([&log_level, &quiet, &log_format, &progress, &app] {
    spdlog::set_level(spdlog::level::from_str(quiet ? "warn" : log_level));
    // Before any BLAS work: the widest OpenBLAS kernels this CPU runs (engine/blas_cores.h).
    const BlasCores blas = tune_blas_cores();
    spdlog::debug("OpenBLAS kernels: {}{} ({})", blas.before, blas.changed() ? " -> " + blas.after : "", blas.reason);
    set_log_format(parse_log_format(log_format));
    if (progress) set_progress_mode(ProgressMode::Always);
    check_output_paths(app);
  });

  // In the order `marquee --help` lists them.
  int exit_code = 0;  // set by the subcommands that end with a code of their own
  add_gen(app);
  add_profile(app);
  add_train(app);
  add_score(app);
  add_daypart(app);
  add_eval_recs(app);
  add_similar(app);
  add_explain(app);
  add_devices(app, exit_code);
  add_project(app);
  add_segment(app);
  add_eval_projection(app);
  add_serve(app, exit_code);
  add_completion(app);
  add_value_checks(app);  // the number checks every subcommand shares (host/cli/guards.h)

  // A mistyped subcommand or flag is named, with a suggestion, before CLI11 reports something else
  // (a misspelt required flag as a missing one).
  if (const auto problem = check_command_line(app, argc, argv)) {
    spdlog::error("{}", *problem);
    return kExitUsage;
  }
  // Errors for people: without the source location the engine appends ("[.../x.cpp:58]"), which
  // `--log-level debug` still shows.
  auto report = [](const std::exception& e, int code) {
    spdlog::debug("{}", e.what());
    spdlog::error("{}", without_source_location(e.what()));
    return code;
  };
  // Parsing runs the chosen subcommand (its callback); errors from either end here.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (json_logs && e.get_exit_code() != 0) {  // a usage error as a log line too
      spdlog::error("{}", e.what());
      return kExitUsage;
    }
    return app.exit(e) == 0 ? 0 : kExitUsage;
  } catch (const ArgumentError& e) {
    return report(e, kExitUsage);
  } catch (const InputError& e) {
    return report(e, kExitInput);
  } catch (const BackendError& e) {
    return report(e, kExitBackend);
  } catch (const std::exception& e) {
    return report(e, kExitRuntime);
  }
  return exit_code;
}
