// `marquee`: the command line. Subcommands and their flags are a contract (docs/cli.md); add
// flags freely, never change the meaning of existing ones.
#include "host/cuda/entry_points.h"
#include "engine/error.h"
#include "engine/explain.h"
#include "host/io/artwork_io.h"
#include "host/jobs/daypart_job.h"
#include "host/cuda/self_test.h"
#include "host/jobs/generator.h"
#include "host/jobs/jobs.h"
#include "host/jobs/projection_jobs.h"
#include "host/server/serve.h"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <optional>

using namespace marquee;

namespace {

// Exit codes (docs/cli.md).
constexpr int kExitRuntime = 1, kExitUsage = 2, kExitInput = 3, kExitBackend = 4;

struct InputFlags {
  InputOptions input;
  double half_life_days = 0;
  CommonOptions common;

  void add(CLI::App* app, bool events_or_profiles) {
    app->add_option("--catalog", input.catalog_dir, "catalogue directory (tags, titles, title_tags)")
        ->required()
        ->check(CLI::ExistingDirectory);
    auto* ev = app->add_option("--events", input.events_path, "playback events (.csv or .jsonl)")
                   ->check(CLI::ExistingFile);
    if (events_or_profiles) {
      auto* pr = app->add_option("--profiles", input.profiles_path, "profiles file written by `marquee profile`")
                     ->check(CLI::ExistingFile);
      ev->excludes(pr);
      pr->excludes(ev);
    } else {
      ev->required();
    }
    app->add_option("--half-life-days", half_life_days, "recency half-life of engagement weights in days (0 = off)")
        ->check(CLI::NonNegativeNumber);
    app->add_option("--rejects", common.rejects_path, "rejects file (default: <out>.rejects.csv)");
    app->add_flag("--strict", common.strict, "fail on the first bad input row instead of rejecting it");
  }
  void finish(CLI::App* app) {
    input.engagement.half_life_days = half_life_days;
    if (input.events_path.empty() && input.profiles_path.empty() && app->get_option_no_throw("--profiles"))
      MARQUEE_THROW_AS(ArgumentError, "give --events FILE or --profiles FILE");
  }
};

// The flags that set a behaviour/hybrid model's scores (`score`, and `daypart` which must fit on them).
void add_model_flags(CLI::App* app, AlsOptions& als, HybridWeights& weights) {
  app->add_option("--factors", als.factors, "ALS factors (behaviour, hybrid)")->capture_default_str();
  app->add_option("--iterations", als.iterations, "ALS iterations")->capture_default_str();
  app->add_option("--regularization", als.regularization, "ALS regularization")->capture_default_str();
  app->add_option("--alpha", als.alpha, "ALS confidence scaling")->capture_default_str();
  app->add_option("--hybrid-tags", weights.tags, "hybrid: weight of the tag cosine")->capture_default_str();
  app->add_option("--hybrid-popularity", weights.popularity, "hybrid: weight of popularity")->capture_default_str();
}

std::string title_label(const Catalog& c, uint32_t t) {
  const Title& title = c.title(t);
  return title.name.empty() ? title.id : title.name + " (" + title.id + ")";
}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("marquee");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%^[%H:%M:%S %l]%$ %v");

  CLI::App app{"Marquee: similarity engine for viewing behaviour and expert tags"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "marquee 0.1.0");
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")->capture_default_str();

  // gen
  GenOptions gen;
  auto* gen_cmd = app.add_subcommand("gen", "generate a deterministic synthetic catalogue and events");
  gen_cmd->add_option("--users", gen.users, "number of users")->required()->check(CLI::PositiveNumber);
  gen_cmd->add_option("--titles", gen.titles, "number of titles")->required()->check(CLI::PositiveNumber);
  gen_cmd->add_option("--tags", gen.tags, "number of tags in the taxonomy")->required()->check(CLI::PositiveNumber);
  gen_cmd->add_option("--seed", gen.seed, "random seed")->capture_default_str();
  gen_cmd->add_option("--mean-titles", gen.mean_titles_per_user, "mean distinct titles watched per user")
      ->capture_default_str();
  gen_cmd->add_option("--out", gen.out_dir, "output directory")->required();
  gen_cmd->add_option("--discovery", gen.discovery,
                      "share of candidate titles found through a liked tag instead of by popularity (0..1)")
      ->check(CLI::Range(0.0, 1.0));
  gen_cmd->add_option("--daypart-effect", gen.daypart_effect,
                      "share of sessions held at the title's own hour of day (0..1; 0: viewing ignores the hour)")
      ->check(CLI::Range(0.0, 1.0));
  gen_cmd->add_option("--artwork-variants", gen.artwork_variants, "also write OUT/artwork.csv with N variants per title")
      ->capture_default_str();

  // profile
  ProfileJobOptions prof;
  InputFlags prof_in;
  auto* prof_cmd = app.add_subcommand("profile", "build user profiles (vectors + engagement) from events");
  prof_in.add(prof_cmd, false);
  prof_cmd->add_option("--out", prof.out_path, "profiles file to write")->required();
  std::string prof_backend = "auto";
  prof_cmd->add_option("--backend", prof_backend, "where profiles are built: auto|cpu|cuda")->capture_default_str();

  // score
  ScoreJobOptions score;
  InputFlags score_in;
  std::string exclude = "watched", backend = "auto", cpu_path = "auto";
  auto* score_cmd = app.add_subcommand("score", "top-K titles for every user (the nightly job)");
  score_in.add(score_cmd, true);
  score_cmd->add_option("--top,-k", score.k, "titles per user (1 .. catalogue size)")->required();
  score_cmd->add_option("--out", score.out_path, "results file (.csv or .jsonl)")->required();
  score_cmd->add_option("--format", score.format, "auto|csv|jsonl")->capture_default_str();
  score_cmd->add_option("--exclude", exclude, "titles never recommended: watched|completed|none")->capture_default_str();
  score_cmd->add_option("--backend", backend, "auto|cpu|cuda")->capture_default_str();
  score_cmd->add_option("--cpu-path", cpu_path, "CPU scoring path: auto|sparse|dense")->capture_default_str();
  score_cmd->add_option("--threads", score.scorer.cpu.threads, "CPU threads (0 = all cores)")->capture_default_str();
  score_cmd->add_option("--batch", score.batch, "users per batch (bounds memory)")->capture_default_str();
  std::string gpu_precision = "fp32";
  size_t gpu_memory_mib = 0;
  score_cmd->add_option("--gpu-precision", gpu_precision, "GPU GEMM precision: fp32|tf32|bf16|fp16")
      ->capture_default_str();
  score_cmd->add_option("--gpu-memory", gpu_memory_mib, "GPU memory budget in MiB (0 = 80% of free memory)")
      ->capture_default_str();
  score_cmd->add_option("--device", score.scorer.cuda.device, "CUDA device index")->capture_default_str();
  score_cmd->add_option("--show", score.show, "print this many users' recommendations with explanations");
  std::string model_kind = "tags";
  score_cmd->add_option("--model", model_kind, "tags|behaviour|hybrid (docs/quality.md)")->capture_default_str();
  add_model_flags(score_cmd, score.als, score.weights);
  std::string score_hour;
  score_cmd->add_option("--daypart", score.daypart_path, "daypart model from `marquee daypart` (with --hour)")
      ->check(CLI::ExistingFile);
  score_cmd->add_option("--hour", score_hour, "re-rank for this local hour of day, 0..23 (needs --daypart)");
  score_cmd->add_option("--artwork", score.artwork_path, "artwork.csv: add the chosen artwork_id to every row (docs/artwork.md)")
      ->check(CLI::ExistingFile);

  // daypart
  DaypartJobOptions dp;
  InputFlags dp_in;
  std::string dp_model = "tags", dp_backend = "auto";
  auto* dp_cmd = app.add_subcommand("daypart", "fit the time-of-day re-ranking term on held-out events");
  dp_in.add(dp_cmd, false);  // --catalog, --events, --half-life-days, --rejects, --strict
  dp_cmd->add_option("--out", dp.out_path, "daypart model (JSON) for score/serve --daypart")->required();
  dp_cmd->add_option("--model", dp_model, "the model it will re-rank: tags|behaviour|hybrid")->capture_default_str();
  add_model_flags(dp_cmd, dp.als, dp.weights);  // the same scores `score` will re-rank
  dp_cmd->add_option("--backend", dp_backend, "auto|cpu|cuda")->capture_default_str();
  dp_cmd->add_option("--top,-k", dp.fit.k, "fit on hit rate at this K")->capture_default_str();
  dp_cmd->add_option("--max-users", dp.fit.max_users, "held-out users used (half fit, half report)")
      ->capture_default_str();
  dp_cmd->add_option("--prior-plays", dp.fit.term.prior_plays, "pseudo-plays of the catalogue profile per title")
      ->capture_default_str();
  dp_cmd->add_option("--min-z", dp.fit.min_z, "McNemar z a weight needs to be kept")->capture_default_str();

  // eval-recs
  EvalRecsOptions eval;
  bool eval_no_tune = false;
  auto* eval_cmd = app.add_subcommand("eval-recs", "held-out next-watch evaluation of the recommenders");
  eval_cmd->add_option("--catalog", eval.catalog_dir, "catalogue directory")->required()->check(CLI::ExistingDirectory);
  eval_cmd->add_option("--events", eval.events_path, "playback events")->required()->check(CLI::ExistingFile);
  eval_cmd->add_option("--holdout", eval.eval.holdout, "titles held out per user (the last ones started)")
      ->capture_default_str();
  eval_cmd->add_option("--factors", eval.eval.als.factors, "ALS factors")->capture_default_str();
  eval_cmd->add_option("--iterations", eval.eval.als.iterations, "ALS iterations")->capture_default_str();
  eval_cmd->add_option("--regularization", eval.eval.als.regularization, "ALS regularization")->capture_default_str();
  eval_cmd->add_option("--alpha", eval.eval.als.alpha, "ALS confidence scaling")->capture_default_str();
  eval_cmd->add_flag("--no-tune", eval_no_tune, "use default hybrid weights instead of tuning them on a validation split");
  eval_cmd->add_option("--out", eval.out_path, "JSON report");
  eval_cmd->add_option("--rejects", eval.common.rejects_path, "rejects file");
  eval_cmd->add_flag("--strict", eval.common.strict, "fail on the first bad input row");

  // similar
  std::string sim_catalog, sim_title, sim_out;
  size_t sim_k = 10;
  auto* sim_cmd = app.add_subcommand("similar", "titles most like a title (tag cosine)");
  sim_cmd->add_option("--catalog", sim_catalog, "catalogue directory")->required()->check(CLI::ExistingDirectory);
  sim_cmd->add_option("--title", sim_title, "title_id")->required();
  sim_cmd->add_option("--top,-k", sim_k, "number of similar titles")->capture_default_str();
  sim_cmd->add_option("--out", sim_out, "also write CSV title_id,rank,similar_title_id,score");

  // explain
  InputFlags exp_in;
  std::string exp_user, exp_title;
  size_t exp_tags = 5, exp_titles = 3;
  bool exp_json = false;
  auto* exp_cmd = app.add_subcommand("explain", "why a title is (or is not) recommended to a user");
  exp_in.add(exp_cmd, true);
  exp_cmd->add_option("--user", exp_user, "user_id")->required();
  exp_cmd->add_option("--title", exp_title, "title_id")->required();
  exp_cmd->add_option("--tags", exp_tags, "tag contributions to list")->capture_default_str();
  exp_cmd->add_option("--because", exp_titles, "watched titles to list")->capture_default_str();
  exp_cmd->add_flag("--json", exp_json, "print JSON");
  std::string exp_artwork;
  exp_cmd->add_option("--artwork", exp_artwork, "artwork.csv: also say which artwork variant the user sees, and why")
      ->check(CLI::ExistingFile);

  // devices
  bool self_test = false;
  auto* dev_cmd = app.add_subcommand("devices", "list CUDA devices this build can use");
  dev_cmd->add_flag("--self-test", self_test, "run the probe kernel on device 0");

  // project, segment, eval-projection (docs/projection.md)
  ProjectJobOptions proj;
  InputFlags proj_in;
  std::string proj_space = "hybrid", proj_backend = "auto";
  bool proj_as_new = false;
  auto* proj_cmd = app.add_subcommand("project", "project the audience of titles known only by their tags");
  proj_in.add(proj_cmd, true);
  proj_cmd->add_option("--new-titles", proj.new_titles_path, "title_tags-shaped file of new titles (title_id,tag,weight)")
      ->check(CLI::ExistingFile);
  proj_cmd->add_option("--title", proj.as_new, "with --as-new: catalogue title(s) to project as if unreleased");
  proj_cmd->add_flag("--as-new", proj_as_new, "ignore the --title's own events (needs --events)");
  proj_cmd->add_option("--out", proj.out_path, "JSON result")->required();
  proj_cmd->add_option("--users-out", proj.users_path, "CSV user_id,affinity,p_watch (default <out>.users.csv)");
  proj_cmd->add_option("--top", proj.top, "users in the CSV, by p_watch")->capture_default_str();
  proj_cmd->add_flag("--all", proj.all_users, "every user in the CSV");
  proj_cmd->add_option("--segments", proj.segments_path, "segment assignments from `marquee segment`")->check(CLI::ExistingFile);
  proj_cmd->add_option("--trailers", proj.trailers, "trailer plan for K segments");
  proj_cmd->add_option("--report", proj.report_path, "self-contained HTML report");
  proj_cmd->add_option("--space", proj_space, "affinity space: tags|hybrid")->capture_default_str();
  proj_cmd->add_option("--backend", proj_backend, "auto|cpu|cuda")->capture_default_str();
  proj_cmd->add_option("--batch", proj.batch, "users per batch")->capture_default_str();
  proj_cmd->add_option("--threads", proj.scorer.cpu.threads, "CPU threads (0 = all cores)");
  proj_cmd->add_option("--seed", proj.calibration.seed, "calibration seed")->capture_default_str();
  proj_cmd->add_option("--calibration-titles", proj.calibration.titles, "calibration titles")->capture_default_str();
  proj_cmd->add_option("--calibration-users", proj.calibration.users, "calibration users")->capture_default_str();
  proj_cmd->add_option("--comparables", proj.comparables, "comparable titles")->capture_default_str();
  proj_cmd->add_option("--cohorts", proj.cohorts, "fan cohorts listed")->capture_default_str();
  proj_cmd->add_option("--min-fans", proj.min_fans, "fans a cohort needs")->capture_default_str();
  proj_cmd->add_option("--fan-weight", proj.fan_weight, "engagement that makes a fan")->capture_default_str();
  proj_cmd->add_option("--kmeans-seed", proj.kmeans.seed, "k-means seed (--trailers without --segments)")->capture_default_str();
  SegmentJobOptions segj;
  InputFlags seg_in;
  std::string seg_backend = "auto";
  auto* seg_cmd = app.add_subcommand("segment", "spherical k-means of the users into K segments");
  seg_in.add(seg_cmd, true);
  seg_cmd->add_option("--k,-k", segj.kmeans.k, "number of segments")->required();
  seg_cmd->add_option("--out", segj.out_path, "CSV user_id,segment (+ .centroids.csv, .json)")->required();
  seg_cmd->add_option("--seed", segj.kmeans.seed, "k-means seed")->capture_default_str();
  seg_cmd->add_option("--iterations", segj.kmeans.iterations, "k-means iterations")->capture_default_str();
  seg_cmd->add_option("--backend", seg_backend, "k-means on auto|cpu (FAISS)|cuda")->capture_default_str();
  bool seg_no_center = false;
  seg_cmd->add_flag("--no-center", seg_no_center, "cluster the raw vectors (not centred on the mean user)");
  seg_cmd->add_option("--batch", segj.batch, "users per batch")->capture_default_str();
  EvalProjectionOptions evp;
  std::string evp_backend = "auto";
  auto* evp_cmd = app.add_subcommand("eval-projection", "hold out titles, project them from their tags, measure");
  evp_cmd->add_option("--catalog", evp.catalog_dir, "catalogue directory")->required()->check(CLI::ExistingDirectory);
  evp_cmd->add_option("--events", evp.events_path, "playback events")->required()->check(CLI::ExistingFile);
  evp_cmd->add_option("--titles", evp.titles, "titles held out, one at a time")->capture_default_str();
  evp_cmd->add_option("--min-viewers", evp.min_viewers, "viewers a held-out title needs")->capture_default_str();
  evp_cmd->add_option("--seed", evp.seed, "held-out title draw seed")->capture_default_str();
  evp_cmd->add_option("--space", evp.space, "tags|hybrid|both")->capture_default_str();
  evp_cmd->add_option("--backend", evp_backend, "auto|cpu|cuda")->capture_default_str();
  evp_cmd->add_option("--calibration-titles", evp.calibration.titles, "calibration titles")->capture_default_str();
  evp_cmd->add_option("--calibration-users", evp.calibration.users, "calibration users")->capture_default_str();
  evp_cmd->add_option("--out", evp.out_path, "JSON report");
  evp_cmd->add_option("--rows", evp.rows_path, "per-title CSV");
  evp_cmd->add_option("--rejects", evp.common.rejects_path, "rejects file");
  evp_cmd->add_flag("--strict", evp.common.strict, "fail on the first bad input row");

  // serve (docs/serving.md)
  server::ServeOptions serve;
  InputFlags serve_in;
  std::string serve_backend = "auto";
  auto* serve_cmd = app.add_subcommand("serve", "the front service: recommendations and similar titles over HTTP");
  serve_in.add(serve_cmd, true);
  serve_cmd->add_option("--port", serve.http.port, "TCP port (0 = any free port)")->required();
  serve_cmd->add_option("--bind", serve.http.bind, "address to listen on")->capture_default_str();
  serve_cmd->add_option("--backend", serve_backend, "auto|cpu|cuda")->capture_default_str();
  serve_cmd->add_option("--threads", serve.engine.scorer.cpu.threads, "CPU scoring threads (0 = all cores)")->capture_default_str();
  serve_cmd->add_option("--title-shards", serve.engine.title_shards, "CPU: title ranges searched in parallel (0 = one per thread)")->capture_default_str();
  serve_cmd->add_option("--http-threads", serve.http.threads, "connection threads")->capture_default_str();
  serve_cmd->add_option("--token", serve.http.token, "bearer token required for writes (/v1/events, reload)");
  serve_cmd->add_option("--max-batch", serve.engine.max_batch, "searches per micro-batch")->capture_default_str();
  serve_cmd->add_option("--max-wait-us", serve.engine.max_wait_us, "how long a batch waits for company (µs)")->capture_default_str();
  serve_cmd->add_option("--queue-limit", serve.engine.queue_limit, "queued searches beyond which requests get 503")->capture_default_str();
  serve_cmd->add_option("--deadline-ms", serve.engine.deadline_ms, "a search queued longer than this gets 503")->capture_default_str();
  serve_cmd->add_option("--max-body-bytes", serve.http.max_body_bytes, "larger request bodies get 413")->capture_default_str();
  serve_cmd->add_option("--max-k", serve.http.max_k, "largest k (0 = the catalogue size)")->capture_default_str();
  serve_cmd->add_option("--max-events", serve.http.max_events, "events per POST /v1/events")->capture_default_str();
  serve_cmd->add_option("--index", serve.engine.index_factory, "FAISS index_factory string (HNSW32, IVF4096,Flat, Flat); default: exact");
  serve_cmd->add_option("--index-path", serve.engine.index_path, "load the index from here, or build and save it here");
  serve_cmd->add_option("--index-params", serve.engine.index_params, "FAISS search parameters, e.g. nprobe=32 or efSearch=128");
  serve_cmd->add_option("--daypart", serve.engine.daypart_path,
                        "daypart model (`marquee daypart --model tags`): ?hour=H re-ranks recommendations")
      ->check(CLI::ExistingFile);
  serve_cmd->add_option("--artwork", serve.engine.artwork_path, "artwork.csv: recommended items carry the chosen artwork_id")
      ->check(CLI::ExistingFile);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));

  try {
    if (*gen_cmd) {
      const auto t0 = std::chrono::steady_clock::now();
      const GenStats s = generate_dataset(gen, [](uint64_t users, uint64_t events) {
        spdlog::info("gen: {} users, {} events", users, events);
      });
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      spdlog::info("gen: {} tags, {} titles ({} tag assignments), {} users, {} events in {:.1f} s -> {}", s.tags,
                   s.titles, s.assignments, s.users, s.events, secs, gen.out_dir);
    } else if (*prof_cmd) {
      prof_in.finish(prof_cmd);
      prof.input = prof_in.input;
      prof.input.profile_backend = parse_backend(prof_backend);
      prof.common = prof_in.common;
      run_profile_job(prof);
    } else if (*score_cmd) {
      score_in.finish(score_cmd);
      score.input = score_in.input;
      score.common = score_in.common;
      score.exclude = parse_exclude_policy(exclude);
      score.backend = parse_backend(backend);
      score.input.profile_backend = score.backend;
      score.scorer.cuda.precision = parse_gpu_precision(gpu_precision);
      score.scorer.cuda.memory_budget = gpu_memory_mib << 20;
      score.scorer.cpu.path = parse_cpu_scoring_path(cpu_path);
      score.model = parse_model_kind(model_kind);
      if (!score_hour.empty()) score.hour = parse_hour(score_hour);
      run_score_job(score);
    } else if (*dp_cmd) {
      dp_in.finish(dp_cmd);
      dp.catalog_dir = dp_in.input.catalog_dir;
      dp.events_path = dp_in.input.events_path;
      dp.engagement = dp_in.input.engagement;
      dp.common = dp_in.common;
      dp.model = parse_model_kind(dp_model);
      dp.backend = parse_backend(dp_backend);
      run_daypart_job(dp);
    } else if (*eval_cmd) {
      eval.eval.tune = !eval_no_tune;
      run_eval_recs_job(eval);
    } else if (*sim_cmd) {
      RejectLog rejects("", false);
      Workspace ws = open_catalog(sim_catalog, rejects);
      const auto t = ws.catalog.find_title(sim_title);
      MARQUEE_CHECK_ARG(t.has_value(), "unknown title_id '{}'", sim_title);
      MARQUEE_CHECK_ARG(sim_k >= 1 && sim_k < ws.catalog.num_titles(),
                        "--top must be between 1 and {} (the other titles); got {}", ws.catalog.num_titles() - 1, sim_k);
      auto scorer = make_cpu_scorer(ws.titles);
      Exclusions self;
      self.titles.push_back(*t);
      self.offsets.push_back(1);
      TopKResult r;
      scorer->search(UserBatchView{1, ws.titles.dim(), ws.titles.row(*t), &self}, sim_k, r);
      fmt::print("titles most like {}:\n", title_label(ws.catalog, *t));
      std::string csv = "title_id,rank,similar_title_id,score\n";
      for (size_t i = 0; i < r.counts[0]; ++i) {
        fmt::print("  {:2d}. {}  {:.4f}\n", i + 1, title_label(ws.catalog, r.titles[i]), r.scores[i]);
        csv += fmt::format("{},{},{},{:.6f}\n", csv_field(sim_title), i + 1,
                           csv_field(ws.catalog.title(r.titles[i]).id), r.scores[i]);
      }
      if (!sim_out.empty()) write_file_atomically(sim_out, csv);
    } else if (*exp_cmd) {
      exp_in.finish(exp_cmd);
      RejectLog rejects(exp_in.common.rejects_path, exp_in.common.strict);
      Workspace ws = open_workspace(exp_in.input, rejects);
      const auto t = ws.catalog.find_title(exp_title);
      MARQUEE_CHECK_ARG(t.has_value(), "unknown title_id '{}'", exp_title);
      const auto u = ws.profiles->find_user(exp_user);
      MARQUEE_CHECK_ARG(u.has_value(), "unknown user_id '{}' (no events for this user)", exp_user);
      const UserProfiles p = ws.profiles->read(*u, 1);
      std::optional<Artwork> artwork;
      if (!exp_artwork.empty()) artwork = load_artwork(exp_artwork, ws.catalog, ws.titles, rejects);
      rejects.finish();
      const Explanation ex = explain(ws.titles, p.vector(0), p.seen_begin(0), p.seen_end(0), *t, exp_tags, exp_titles);
      const bool seen = std::any_of(p.seen_begin(0), p.seen_end(0), [&](const SeenTitle& s) { return s.title == *t; });
      if (exp_json) {
        nlohmann::json j{{"user_id", exp_user}, {"title_id", exp_title}, {"score", ex.score}, {"already_seen", seen}};
        for (const auto& c : ex.tags)
          j["tags"].push_back({{"tag", ws.catalog.tag(c.tag).name}, {"category", ws.catalog.tag(c.tag).category},
                               {"contribution", c.contribution}});
        for (const auto& b : ex.because)
          j["because_you_watched"].push_back(
              {{"title_id", ws.catalog.title(b.title).id}, {"similarity", b.similarity}, {"weight", b.weight}});
        if (artwork) j["artwork"] = artwork_explanation_json(*artwork, ws.catalog, p.vector(0), *t, exp_tags);
        fmt::print("{}\n", j.dump(2));
      } else {
        fmt::print("{} for {}: score {:.4f}{}\n", title_label(ws.catalog, *t), exp_user, ex.score,
                   seen ? " (already watched)" : "");
        if (!p.summaries[0].usable) fmt::print("  this user has no usable events: nothing to explain\n");
        for (const auto& c : ex.tags)
          fmt::print("  tag {:<24} {:<8} +{:.4f} ({:.0f}% of the score)\n", ws.catalog.tag(c.tag).name,
                     ws.catalog.tag(c.tag).category, c.contribution, ex.score > 0 ? 100.0 * c.contribution / ex.score : 0.0);
        for (const auto& b : ex.because)
          fmt::print("  because you watched {} (similarity {:.3f}, engagement {:.2f})\n", title_label(ws.catalog, b.title),
                     b.similarity, b.weight);
        if (artwork) print_artwork_explanation(stdout, *artwork, ws.catalog, p.vector(0), *t, exp_tags);
      }
    } else if (*serve_cmd) {
      serve_in.finish(serve_cmd);
      serve.engine.input = serve_in.input;
      serve.engine.rejects_path = serve_in.common.rejects_path;
      serve.engine.strict = serve_in.common.strict;
      serve.engine.backend = parse_backend(serve_backend);
      return server::run_serve(serve);
    } else if (*proj_cmd) {
      proj_in.finish(proj_cmd);
      MARQUEE_CHECK_ARG(proj.as_new.empty() == !proj_as_new, "--title ID and --as-new go together");
      proj.input = proj_in.input;
      proj.common = proj_in.common;
      proj.space = parse_projection_space(proj_space);
      proj.backend = parse_backend(proj_backend);
      run_project_job(proj);
    } else if (*seg_cmd) {
      seg_in.finish(seg_cmd);
      segj.input = seg_in.input;
      segj.common = seg_in.common;
      segj.backend = parse_backend(seg_backend);
      segj.kmeans.center = !seg_no_center;
      run_segment_job(segj);
    } else if (*evp_cmd) {
      evp.backend = parse_backend(evp_backend);
      run_eval_projection_job(evp);
    } else if (*dev_cmd) {
      const cuda::DeviceReport r = cuda::query_devices();
      fmt::print("CUDA backend compiled in: {}\n", r.compiled_in ? "yes" : "no");
      fmt::print("devices: {}{}\n", r.device_count, r.device_count == 0 ? " (" + r.error + ")" : "");
      for (size_t i = 0; i < r.devices.size(); ++i) fmt::print("  [{}] {}\n", i, r.devices[i]);
      if (self_test) {
        const cuda::SelfTestResult st = cuda::self_test(0);
        fmt::print("self-test: {}: {}\n", !st.ran ? "skipped" : st.passed ? "passed" : "FAILED", st.message);
        if (st.ran && !st.passed) return kExitBackend;
      }
    }
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
  return 0;
}
