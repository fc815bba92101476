// `marquee`: the command line. Subcommands and their flags are a contract (docs/cli.md); add
// flags freely, never change the meaning of existing ones. Each subcommand lives in its own file
// (commands.h lists them); this file holds the global flags and maps errors to exit codes.
#include "engine/blas_cores.h"
#include "engine/error.h"
#include "host/cli/commands.h"
#include "host/cli/guards.h"
#include "host/cli/usage_help.h"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

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
  std::string log_level = "info";
  bool quiet = false;
  // Global flags work before or after the subcommand (`marquee similar ... --log-level warn`).
  app.fallthrough();
  auto* level_opt = app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")
                        ->capture_default_str()
                        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_flag("--quiet,-q", quiet, "warnings and errors only (--log-level warn)")->excludes(level_opt);
  // Runs once the whole command line has parsed and been checked, before the subcommand's callback.
  // It also refuses an output path that would overwrite an input (host/cli/guards.h).
  app.parse_complete_callback([&log_level, &quiet, &app] {
    spdlog::set_level(spdlog::level::from_str(quiet ? "warn" : log_level));
    // Before any BLAS work: the widest OpenBLAS kernels this CPU runs (engine/blas_cores.h).
    const BlasCores blas = tune_blas_cores();
    spdlog::debug("OpenBLAS kernels: {}{} ({})", blas.before, blas.changed() ? " -> " + blas.after : "", blas.reason);
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
