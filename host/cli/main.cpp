// `marquee`: the command line. Subcommands and their flags are a contract (docs/cli.md); add
// flags freely, never change the meaning of existing ones. Each subcommand lives in its own file
// (commands.h lists them); this file holds the global flags and maps errors to exit codes.
#include "engine/error.h"
#include "host/cli/commands.h"
#include "host/cli/guards.h"

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
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")->capture_default_str();
  // Runs once the whole command line has parsed and been checked, before the subcommand's callback.
  // It also refuses an output path that would overwrite an input (host/cli/guards.h).
  app.parse_complete_callback([&log_level, &app] {
    spdlog::set_level(spdlog::level::from_str(log_level));
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

  // Parsing runs the chosen subcommand (its callback); errors from either end here.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  } catch (const ArgumentError& e) {
    spdlog::error("{}", e.what());
    return kExitUsage;
  } catch (const InputError& e) {
    spdlog::error("{}", e.what());
    return kExitInput;
  } catch (const BackendError& e) {
    spdlog::error("{}", e.what());
    return kExitBackend;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return kExitRuntime;
  }
  return exit_code;
}
