// `marquee profile`: user profiles (vectors + engagement) from events (docs/cli.md).
#include "host/cli/commands.h"
#include "host/cli/input_flags.h"
#include "host/jobs/profile_job.h"
#include "host/jobs/spilled_profiles.h"

#include <memory>
#include <string>

namespace marquee::cli {

namespace {
struct ProfileFlags {
  ProfileJobOptions job;
  InputFlags in;
  std::string backend = "auto";
  std::string memory_budget, spill_dir;
};
}  // namespace

void add_profile(CLI::App& app) {
  auto f = std::make_shared<ProfileFlags>();
  auto* cmd = app.add_subcommand("profile", "build user profiles (vectors + engagement) from events");
  f->in.add(cmd, false);
  cmd->add_option("--out", f->job.out_path, "profiles file to write")->required();
  cmd->add_option("--backend", f->backend, "where profiles are built: auto|cpu|cuda")->capture_default_str();
  cmd->add_option("--memory-budget", f->memory_budget,
                  "bound on memory, e.g. 4G: events that do not fit are partitioned on disk (default: half the "
                  "machine's memory; docs/scale.md)");
  cmd->add_option("--spill-dir", f->spill_dir, "where --memory-budget's spill files go (default: beside --out)");

  cmd->callback([f, cmd] {
    f->in.finish(cmd);
    f->job.input = f->in.input;
    f->job.input.profile_backend = parse_backend(f->backend);
    f->job.input.spill_dir = f->spill_dir;
    f->job.input.memory_budget =
        f->memory_budget.empty() ? default_memory_budget() : parse_memory_size(f->memory_budget);
    f->job.common = f->in.common;
    run_profile_job(f->job);
  });
}

}  // namespace marquee::cli
