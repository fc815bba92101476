// `marquee train`: tune every model family on the user's own data and write the model folder
// (docs/models.md).
#include "engine/backend.h"
#include "host/cli/commands.h"
#include "host/cli/input_flags.h"
#include "host/jobs/spilled_profiles.h"
#include "host/jobs/train_job.h"

#include <memory>
#include <string>

namespace marquee::cli {

namespace {
struct TrainFlags {
  TrainJobOptions job;
  InputFlags in;
  std::string model = "auto", backend = "auto";
  std::string memory_budget;
};
}  // namespace

void add_train(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  TrainOptions& t = f->job.train;
  auto* cmd = app.add_subcommand("train", "tune every model on your data, keep the best (docs/models.md)");
  f->in.add(cmd, true);
  cmd->add_option("--out", f->job.out_dir, "model folder to write (manifest.json + .npy arrays)")->required();
  cmd->add_option("--model", f->model, "auto (every family) or one of tags|behaviour|hybrid|ease")
      ->capture_default_str();
  cmd->add_option("--time-budget", t.time_budget_s, "seconds of hyperparameter search")->capture_default_str();
  cmd->add_option("--holdout", t.holdout, "titles held out per user for validation")->capture_default_str()->check(
      CLI::Range(size_t(1), size_t(100)));
  cmd->add_option("--validation-users", t.max_validation_users, "validation users measured per trial")
      ->capture_default_str()
      ->check(CLI::Range(size_t(1), size_t(10'000'000)));
  cmd->add_option("--threads", t.base.als.threads, "CPU threads for ALS (0 = all cores)")->capture_default_str();
  cmd->add_option("--seed", t.base.als.seed, "random seed (ALS start, profiles split)")->capture_default_str();
  cmd->add_option("--backend", f->backend, "where ALS trains: auto|cpu|cuda")->capture_default_str();
  cmd->add_option("--memory-budget", f->memory_budget,
                  "bound on memory, e.g. 4G: when the users' interactions do not fit, fit on a sample of users "
                  "chosen by user hash, said in the log and the manifest (default: half the machine's memory; "
                  "docs/scale.md)");
  cmd->add_option("--sample-users", t.sample_users,
                  "fit on this share of users at most, chosen by user hash (0..1; the budget may lower it)")
      ->capture_default_str();
  cmd->callback([f, cmd] {
    f->in.finish(cmd);
    f->job.input = f->in.input;
    f->job.input.memory_budget =
        f->memory_budget.empty() ? default_memory_budget() : parse_memory_size(f->memory_budget);
    f->job.common = f->in.common;
    f->job.train.families = parse_model_families(f->model);
    f->job.train.backend = parse_backend(f->backend);
    f->job.train.seed = f->job.train.base.als.seed;
    run_train_job(f->job);
  });
}

}  // namespace marquee::cli
