// `marquee daypart`: fit the time-of-day re-ranking term on held-out events (docs/cli.md, docs/quality.md).
#include "engine/backend.h"
#include "engine/recommender.h"
#include "host/cli/commands.h"
#include "host/cli/input_flags.h"
#include "host/jobs/daypart_job.h"

#include <memory>
#include <string>

namespace marquee::cli {

namespace {
struct DaypartFlags {
  DaypartJobOptions job;
  InputFlags in;
  std::string model = "tags", backend = "auto";
};
}  // namespace

void add_daypart(CLI::App& app) {
  auto f = std::make_shared<DaypartFlags>();
  DaypartJobOptions& dp = f->job;
  auto* cmd = app.add_subcommand("daypart", "fit the time-of-day re-ranking term on held-out events");
  f->in.add(cmd, false);  // --catalog, --events, --half-life-days, --rejects, --strict
  cmd->add_option("--out", dp.out_path, "daypart model (JSON) for score/serve --daypart")->required();
  cmd->add_option("--model", f->model, "the model it will re-rank: tags|behaviour|hybrid")->capture_default_str();
  add_model_flags(cmd, dp.als, dp.weights);  // the same scores `score` will re-rank
  cmd->add_option("--model-dir", dp.model_dir, "a `marquee train` model folder: fit for its scores (overrides --model)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--backend", f->backend, "auto|cpu|cuda")->capture_default_str();
  cmd->add_option("--top,-k", dp.fit.k, "fit on hit rate at this K")->capture_default_str();
  cmd->add_option("--max-users", dp.fit.max_users, "held-out users used (half fit, half report)")
      ->capture_default_str();
  cmd->add_option("--prior-plays", dp.fit.term.prior_plays, "pseudo-plays of the catalogue profile per title")
      ->capture_default_str();
  cmd->add_option("--min-z", dp.fit.min_z, "McNemar z a weight needs to be kept")->capture_default_str();

  cmd->callback([f, cmd] {
    DaypartJobOptions& dp = f->job;
    f->in.finish(cmd);
    dp.catalog_dir = f->in.input.catalog_dir;
    dp.events_path = f->in.input.events_path;
    dp.engagement = f->in.input.engagement;
    dp.layout = f->in.input.layout;
    dp.common = f->in.common;
    dp.model = parse_model_kind(f->model);
    dp.backend = parse_backend(f->backend);
    run_daypart_job(dp);
  });
}

}  // namespace marquee::cli
