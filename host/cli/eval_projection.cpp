// `marquee eval-projection`: hold out titles, project them from their tags, measure (docs/projection.md).
#include "engine/backend.h"
#include "host/cli/commands.h"
#include "host/cli/input_flags.h"
#include "host/jobs/eval_projection_job.h"

#include <memory>
#include <string>

namespace marquee::cli {

namespace {
struct EvalProjectionFlags {
  EvalProjectionOptions job;
  std::string backend = "auto";
  LayoutFlags layout;
};
}  // namespace

void add_eval_projection(CLI::App& app) {
  auto f = std::make_shared<EvalProjectionFlags>();
  EvalProjectionOptions& evp = f->job;
  auto* cmd = app.add_subcommand("eval-projection", "hold out titles, project them from their tags, measure");
  cmd->add_option("--catalog", evp.catalog_dir, "catalogue directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--events", evp.events_path, "playback events")->required()->check(CLI::ExistingFile);
  cmd->add_option("--titles", evp.titles, "titles held out, one at a time")->capture_default_str();
  cmd->add_option("--min-viewers", evp.min_viewers, "viewers a held-out title needs")->capture_default_str();
  cmd->add_option("--seed", evp.seed, "held-out title draw seed")->capture_default_str();
  cmd->add_option("--space", evp.space, "tags|hybrid|both")->capture_default_str();
  cmd->add_option("--model-dir", evp.model_dir,
                  "saved behaviour/hybrid model (marquee train): the hybrid space fits no ALS")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--backend", f->backend, "auto|cpu|cuda")->capture_default_str();
  cmd->add_option("--calibration-titles", evp.calibration.titles, "calibration titles")->capture_default_str();
  cmd->add_option("--calibration-users", evp.calibration.users, "calibration users")->capture_default_str();
  cmd->add_option("--out", evp.out_path, "JSON report");
  cmd->add_option("--rows", evp.rows_path, "per-title CSV");
  cmd->add_option("--rejects", evp.common.rejects_path, "rejects file");
  cmd->add_flag("--strict", evp.common.strict, "fail on the first bad input row");
  add_reject_rate_flag(cmd, evp.common);
  f->layout.add(cmd);

  cmd->callback([f] {
    f->job.backend = parse_backend(f->backend);
    f->job.layout = f->layout.finish();
    run_eval_projection_job(f->job);
  });
}

}  // namespace marquee::cli
