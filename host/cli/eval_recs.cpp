// `marquee eval-recs`: held-out next-watch evaluation of the recommenders (docs/quality.md).
#include "host/cli/commands.h"
#include "host/cli/input_flags.h"
#include "host/jobs/eval_recs_job.h"
#include "host/jobs/spilled_profiles.h"

#include <memory>

namespace marquee::cli {

namespace {
struct EvalRecsFlags {
  EvalRecsOptions job;
  bool no_tune = false;
  std::string memory_budget;
  LayoutFlags layout;
};
}  // namespace

void add_eval_recs(CLI::App& app) {
  auto f = std::make_shared<EvalRecsFlags>();
  EvalRecsOptions& eval = f->job;
  auto* cmd = app.add_subcommand("eval-recs", "held-out next-watch evaluation of the recommenders");
  cmd->add_option("--catalog", eval.catalog_dir, "catalogue directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--events", eval.events_path, "playback events")->required()->check(CLI::ExistingFile);
  cmd->add_option("--holdout", eval.eval.holdout, "titles held out per user (the last ones started)")
      ->capture_default_str();
  cmd->add_option("--factors", eval.eval.als.factors, "ALS factors")->capture_default_str();
  cmd->add_option("--iterations", eval.eval.als.iterations, "ALS iterations")->capture_default_str();
  cmd->add_option("--regularization", eval.eval.als.regularization, "ALS regularization")->capture_default_str();
  cmd->add_option("--alpha", eval.eval.als.alpha, "ALS confidence scaling")->capture_default_str();
  cmd->add_flag("--no-tune", f->no_tune, "use default hybrid weights instead of tuning them on a validation split");
  cmd->add_option("--time-budget", eval.time_budget_s,
                  "seconds for the `marquee train` search row (0: no such row)")->capture_default_str();
  cmd->add_option("--model-dir", eval.model_dir, "also evaluate this saved model's configuration, refitted on the training part")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--memory-budget", f->memory_budget,
                  "bound on memory, e.g. 4G: when the users' events do not fit, evaluate a sample of users chosen "
                  "by user hash, said in the table and the report (default: half the machine's memory; "
                  "docs/scale.md)");
  cmd->add_option("--sample-users", eval.sample_users,
                  "evaluate this share of users at most, chosen by user hash (0..1; the budget may lower it)")
      ->capture_default_str();
  cmd->add_option("--out", eval.out_path, "JSON report");
  cmd->add_option("--report", eval.report_path, "self-contained HTML report: HR@K/NDCG@K curves, coverage, popularity bias");
  cmd->add_option("--rejects", eval.common.rejects_path, "rejects file");
  cmd->add_flag("--strict", eval.common.strict, "fail on the first bad input row");
  add_reject_rate_flag(cmd, eval.common);
  f->layout.add(cmd);

  cmd->callback([f] {
    f->job.eval.tune = !f->no_tune;
    f->job.layout = f->layout.finish();
    f->job.memory_budget =
        f->memory_budget.empty() ? default_memory_budget() : parse_memory_size(f->memory_budget);
    run_eval_recs_job(f->job);
  });
}

}  // namespace marquee::cli
