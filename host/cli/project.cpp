// `marquee project`: the audience of titles known only by their tags (docs/projection.md).
#include "engine/backend.h"
#include "engine/error.h"
#include "engine/projection.h"
#include "host/cli/commands.h"
#include "host/cli/input_flags.h"
#include "host/jobs/project_job.h"

#include <memory>
#include <string>

namespace marquee::cli {

namespace {
struct ProjectFlags {
  ProjectJobOptions job;
  InputFlags in;
  std::string space = "hybrid", backend = "auto";
  bool as_new = false;
};
}  // namespace

void add_project(CLI::App& app) {
  auto f = std::make_shared<ProjectFlags>();
  ProjectJobOptions& proj = f->job;
  auto* cmd = app.add_subcommand("project", "project the audience of titles known only by their tags");
  f->in.add(cmd, true);
  cmd->add_option("--new-titles", proj.new_titles_path, "title_tags-shaped file of new titles (title_id,tag,weight)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--title", proj.as_new, "with --as-new: catalogue title(s) to project as if unreleased");
  cmd->add_flag("--as-new", f->as_new, "ignore the --title's own events (needs --events)");
  cmd->add_option("--out", proj.out_path, "JSON result")->required();
  cmd->add_option("--users-out", proj.users_path, "CSV user_id,affinity,p_watch (default <out>.users.csv)");
  cmd->add_option("--top", proj.top, "users in the CSV, by p_watch")->capture_default_str();
  cmd->add_flag("--all", proj.all_users, "every user in the CSV");
  cmd->add_option("--segments", proj.segments_path, "segment assignments from `marquee segment`")->check(CLI::ExistingFile);
  cmd->add_option("--trailers", proj.trailers, "trailer plan for K segments");
  cmd->add_option("--report", proj.report_path, "self-contained HTML report");
  cmd->add_option("--space", f->space, "affinity space: tags|hybrid")->capture_default_str();
  cmd->add_option("--model-dir", proj.model_dir,
                  "a `marquee train` behaviour/hybrid model: its factors and tags->factors map (no ALS fit here)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--backend", f->backend, "auto|cpu|cuda")->capture_default_str();
  cmd->add_option("--batch", proj.batch, "users per batch")->capture_default_str();
  cmd->add_option("--threads", proj.scorer.cpu.threads, "CPU threads (0 = all cores)");
  cmd->add_option("--seed", proj.calibration.seed, "calibration seed")->capture_default_str();
  cmd->add_option("--calibration-titles", proj.calibration.titles, "calibration titles")->capture_default_str();
  cmd->add_option("--calibration-users", proj.calibration.users, "calibration users")->capture_default_str();
  cmd->add_option("--comparables", proj.comparables, "comparable titles")->capture_default_str();
  cmd->add_option("--cohorts", proj.cohorts, "fan cohorts listed")->capture_default_str();
  cmd->add_option("--min-fans", proj.min_fans, "fans a cohort needs")->capture_default_str();
  cmd->add_option("--fan-weight", proj.fan_weight, "engagement that makes a fan")->capture_default_str();
  cmd->add_option("--kmeans-seed", proj.kmeans.seed, "k-means seed (--trailers without --segments)")->capture_default_str();

  cmd->callback([f, cmd] {
    ProjectJobOptions& proj = f->job;
    f->in.finish(cmd);
    MARQUEE_CHECK_ARG(proj.as_new.empty() == !f->as_new, "--title ID and --as-new go together");
    proj.input = f->in.input;
    proj.common = f->in.common;
    proj.space = parse_projection_space(f->space);
    proj.backend = parse_backend(f->backend);
    run_project_job(proj);
  });
}

}  // namespace marquee::cli
