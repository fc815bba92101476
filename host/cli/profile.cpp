// `marquee profile`: user profiles (vectors + engagement) from events (docs/cli.md).
#include "host/cli/commands.h"
#include "host/cli/input_flags.h"
#include "host/jobs/profile_job.h"

#include <memory>
#include <string>

namespace marquee::cli {

namespace {
struct ProfileFlags {
  ProfileJobOptions job;
  InputFlags in;
  std::string backend = "auto";
};
}  // namespace

void add_profile(CLI::App& app) {
  auto f = std::make_shared<ProfileFlags>();
  auto* cmd = app.add_subcommand("profile", "build user profiles (vectors + engagement) from events");
  f->in.add(cmd, false);
  cmd->add_option("--out", f->job.out_path, "profiles file to write")->required();
  cmd->add_option("--backend", f->backend, "where profiles are built: auto|cpu|cuda")->capture_default_str();

  cmd->callback([f, cmd] {
    f->in.finish(cmd);
    f->job.input = f->in.input;
    f->job.input.profile_backend = parse_backend(f->backend);
    f->job.common = f->in.common;
    run_profile_job(f->job);
  });
}

}  // namespace marquee::cli
