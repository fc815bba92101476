// `marquee segment`: spherical k-means of the users into K segments (docs/projection.md).
#include "engine/backend.h"
#include "host/cli/commands.h"
#include "host/cli/input_flags.h"
#include "host/jobs/segment_job.h"

#include <memory>
#include <string>

namespace marquee::cli {

namespace {
struct SegmentFlags {
  SegmentJobOptions job;
  InputFlags in;
  std::string backend = "auto";
  bool no_center = false;
};
}  // namespace

void add_segment(CLI::App& app) {
  auto f = std::make_shared<SegmentFlags>();
  SegmentJobOptions& segj = f->job;
  auto* cmd = app.add_subcommand("segment", "spherical k-means of the users into K segments");
  f->in.add(cmd, true);
  cmd->add_option("--k,-k", segj.kmeans.k, "number of segments")->required();
  cmd->add_option("--out", segj.out_path, "CSV user_id,segment (+ .centroids.csv, .json)")->required();
  cmd->add_option("--seed", segj.kmeans.seed, "k-means seed")->capture_default_str();
  cmd->add_option("--iterations", segj.kmeans.iterations, "k-means iterations")->capture_default_str();
  cmd->add_option("--backend", f->backend, "k-means on auto|cpu (FAISS)|cuda")->capture_default_str();
  cmd->add_flag("--no-center", f->no_center, "cluster the raw vectors (not centred on the mean user)");
  cmd->add_option("--batch", segj.batch, "users per batch")->capture_default_str();

  cmd->callback([f, cmd] {
    SegmentJobOptions& segj = f->job;
    f->in.finish(cmd);
    segj.input = f->in.input;
    segj.common = f->in.common;
    segj.backend = parse_backend(f->backend);
    segj.kmeans.center = !f->no_center;
    run_segment_job(segj);
  });
}

}  // namespace marquee::cli
