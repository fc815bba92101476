// `marquee score`: top-K titles for every user, the nightly job (docs/cli.md).
#include "engine/backend.h"
#include "engine/daypart.h"
#include "engine/recommender.h"
#include "engine/scorer.h"
#include "host/cli/commands.h"
#include "host/cli/input_flags.h"
#include "host/jobs/score_job.h"
#include "host/jobs/spilled_profiles.h"

#include <cstddef>
#include <memory>
#include <string>

namespace marquee::cli {

namespace {
struct ScoreFlags {
  ScoreJobOptions job;
  InputFlags in;
  std::string exclude = "watched", backend = "auto", cpu_path = "auto";
  std::string gpu_precision = "fp32", cpu_precision = "fp32";
  size_t gpu_memory_mib = 0;
  std::string model_kind = "auto";
  std::string hour;
  std::string memory_budget;
};
}  // namespace

void add_score(CLI::App& app) {
  auto f = std::make_shared<ScoreFlags>();
  ScoreJobOptions& score = f->job;
  auto* cmd = app.add_subcommand("score", "top-K titles for every user (the nightly job)");
  f->in.add(cmd, true);
  cmd->add_option("--top,-k", score.k, "titles per user (1 .. catalogue size)")->required();
  cmd->add_option("--out", score.out_path,
                  "results file (.csv or .jsonl, optionally .gz/.zst-compressed: recs.csv.gz), or a folder of parts: "
                  "DIR/ (a trailing slash) or an existing folder (docs/scale.md)")
      ->required();
  cmd->add_option("--partitions", score.partitions,
                  "with --out DIR/: number of part files, equal slices of users (default: one per 1,000,000 users)");
  cmd->add_option("--format", score.format, "auto|csv|jsonl")->capture_default_str();
  cmd->add_option("--exclude", f->exclude, "titles never recommended: watched|completed|none")->capture_default_str();
  cmd->add_option("--backend", f->backend, "auto|cpu|cuda")->capture_default_str();
  cmd->add_option("--cpu-path", f->cpu_path, "CPU scoring path: auto|sparse|dense")->capture_default_str();
  cmd->add_option("--cpu-precision", f->cpu_precision,
                  "CPU dense products: fp32, or bf16 (vectors rounded to bfloat16, fp32 sums; AVX-512 BF16 CPUs)")
      ->capture_default_str();
  cmd->add_option("--threads", score.scorer.cpu.threads, "CPU threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--batch", score.batch, "users per batch (bounds memory)")->capture_default_str();
  cmd->add_option("--gpu-precision", f->gpu_precision, "GPU GEMM precision: fp32|tf32|bf16|fp16")
      ->capture_default_str();
  cmd->add_option("--gpu-memory", f->gpu_memory_mib, "GPU memory budget in MiB (0 = 80% of free memory)")
      ->capture_default_str();
  cmd->add_option("--device", score.scorer.cuda.device, "CUDA device index")->capture_default_str();
  cmd->add_option("--show", score.show, "print this many users' recommendations with explanations");
  auto* model_dir = cmd->add_option("--model-dir", score.model_dir, "model folder from `marquee train` (docs/models.md)")
                        ->check(CLI::ExistingDirectory);
  cmd->add_option("--model", f->model_kind,
                  "without --model-dir: auto (train's search, in memory) or a family fitted with the flags below: "
                  "tags|behaviour|hybrid|ease")
      ->capture_default_str()
      ->excludes(model_dir);
  cmd->add_option("--time-budget", score.time_budget_s, "--model auto: seconds of search")->capture_default_str();
  add_model_flags(cmd, score.als, score.weights);
  cmd->add_option("--ease-lambda", score.ease_lambda, "ease: L2 penalty of the item-item weights")->capture_default_str();
  cmd->add_option("--daypart", score.daypart_path, "daypart model from `marquee daypart` (with --hour)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--hour", f->hour, "re-rank for this local hour of day, 0..23 (needs --daypart)");
  cmd->add_option("--memory-budget", f->memory_budget,
                  "bound on memory, e.g. 4G: events that do not fit are partitioned on disk, and a model fitted here "
                  "(not --model-dir) is fitted on a sample of users by hash (default: half the machine's memory; "
                  "docs/scale.md)");
  cmd->add_option("--sample-users", score.sample_users,
                  "--model auto|behaviour|hybrid|ease without --model-dir: fit on this share of users at most, "
                  "chosen by user hash (0..1; within --memory-budget, lowered to fit it)")
      ->capture_default_str();
  cmd->add_option("--spill-dir", score.input.spill_dir, "where --memory-budget's spill files go (default: beside --out)");
  cmd->add_option("--artwork", score.artwork_path, "artwork.csv: add the chosen artwork_id to every row (docs/artwork.md)")
      ->check(CLI::ExistingFile);

  cmd->callback([f, cmd] {
    ScoreJobOptions& score = f->job;
    f->in.finish(cmd);
    const std::string spill_dir = score.input.spill_dir;
    score.input = f->in.input;
    score.input.spill_dir = spill_dir;
    score.input.memory_budget =
        f->memory_budget.empty() ? default_memory_budget() : parse_memory_size(f->memory_budget);
    score.common = f->in.common;
    score.exclude = parse_exclude_policy(f->exclude);
    score.backend = parse_backend(f->backend);
    score.input.profile_backend = score.backend;
    score.scorer.cuda.precision = parse_gpu_precision(f->gpu_precision);
    score.scorer.cuda.memory_budget = f->gpu_memory_mib << 20;
    score.scorer.cpu.path = parse_cpu_scoring_path(f->cpu_path);
    score.scorer.cpu.precision = parse_cpu_precision(f->cpu_precision);
    score.auto_model = score.model_dir.empty() && f->model_kind == "auto";
    if (!score.auto_model && score.model_dir.empty()) score.model = parse_model_kind(f->model_kind);
    if (!f->hour.empty()) score.hour = parse_hour(f->hour);
    run_score_job(score);
  });
}

}  // namespace marquee::cli
