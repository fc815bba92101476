#include "host/jobs/score_job.h"

#include "engine/clock.h"
#include "engine/daypart.h"
#include "engine/error.h"
#include "engine/model.h"
#include "engine/model_search.h"
#include "host/backend/resolver.h"
#include "host/io/artwork_io.h"
#include "host/io/atomic_file.h"
#include "host/io/output_dir.h"
#include "host/io/progress.h"
#include "host/io/results_io.h"
#include "host/io/model_dir.h"
#include "host/jobs/daypart_job.h"
#include "host/jobs/spilled_profiles.h"
#include "host/jobs/train_job.h"
#include "host/jobs/user_sample.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <sys/stat.h>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

namespace marquee {
namespace {

// The flag checks that need no input files; returns the output format.
ResultFormat check_score_options(const ScoreJobOptions& o) {
  MARQUEE_CHECK_ARG(!o.out_path.empty(), "score needs --out FILE");
  MARQUEE_CHECK_ARG(o.batch >= 1 && o.batch <= kMaxBatchUsers, "--batch must be between 1 and {}; got {}",
                    kMaxBatchUsers, o.batch);
  MARQUEE_CHECK_ARG(o.k >= 1, "--top must be at least 1; got {}", o.k);
  MARQUEE_CHECK_ARG(o.partitions == 0 || is_output_dir_path(o.out_path),
                    "--partitions {} needs a directory output (--out DIR/ with a trailing slash): a single file has "
                    "no parts", o.partitions);
  // A directory's parts are named by --format (CSV unless jsonl), not by the folder's name.
  const ResultFormat format = parse_result_format(o.format, is_output_dir_path(o.out_path) ? "" : o.out_path);
  MARQUEE_CHECK_ARG(o.hour < 0 || !o.daypart_path.empty(),
                    "--hour needs a daypart model: fit one with `marquee daypart --catalog C --events E --out "
                    "daypart.json --model {}` and pass --daypart daypart.json", model_kind_name(o.model));
  MARQUEE_CHECK_ARG(o.daypart_path.empty() || o.hour >= 0, "--daypart needs --hour H (0..23)");
  MARQUEE_CHECK_ARG(o.hour <= 23, "--hour {} is not an hour of day (0..23)", o.hour);
  return format;
}

// Spill files go next to the output: inside a directory output, beside a file output.
std::string spill_dir_for(const std::string& out) {
  if (is_output_dir_path(out)) return out;
  const std::filesystem::path parent = std::filesystem::path(out).parent_path();
  return parent.empty() ? "." : parent.string();
}

// What fitting `kind` on profiles read whole holds: the profiles (a tag vector each), ALS's
// interactions (by user and by title) and factors; fixed: the catalogue and its tag vectors, the
// model's title side (TitleMatrix: 12 bytes a value, dense and sparse; the hybrid's holds the tags
// too), EASE's titles x titles matrices. Rounded up from measurements (docs/benchmarks.md).
MemoryCosts fit_costs(const TitleMatrix& tags, ModelKind kind, const AlsOptions& als) {
  const double n = double(tags.num_titles()), d = double(tags.dim()), f = double(als.factors);
  MemoryCosts c;
  c.per_event = 12 + 48;  // a seen title, then an interaction and its two CSR entries
  c.per_user = 4 * d + sizeof(UserSummary) + 64 + 8 * f;
  c.fixed = 64e6 + 4 * n * d + 24 * n * f;
  if (kind == ModelKind::Hybrid) c.fixed += 12 * n * (f + d + 1);
  if (kind == ModelKind::Ease) c.fixed += ease_bytes(tags.num_titles());
  return c;
}

// The model every user is ranked with, and how it was obtained (for the log and the summary).
struct ScoreModel {
  std::unique_ptr<Model> model;
  std::string description;
};

// --model-dir: load it; --model auto: `marquee train`'s search in memory; else the named family
// fitted on every user's history (ALS for behaviour and hybrid, the closed form for ease).
ScoreModel obtain_model(const ScoreJobOptions& o, const Workspace& ws, RejectLog& rejects) {
  const auto t0 = Clock::now();
  ScoreModel out;
  if (!o.model_dir.empty()) {
    LoadedModel loaded = load_model_dir(o.model_dir, ws.catalog, ws.titles);
    out.model = std::move(loaded.model);
    out.description = fmt::format("{} (version {}, from {})", model_kind_name(out.model->kind()), loaded.version,
                                  o.model_dir);
  } else if (o.auto_model) {
    TrainOptions t;
    t.time_budget_s = o.time_budget_s;
    t.backend = o.backend;
    t.device = o.scorer.cuda.device;
    t.base.als.threads = o.scorer.cpu.threads;
    t.memory_budget = o.input.memory_budget;
    t.sample_users = o.sample_users;
    const TrainingData data = prepare_training_data(ws, o.input, t, rejects);
    TrainedModel trained = train_model(ws.titles, data.train, data.heldout, data.all, t, nullptr);
    out.model = std::move(trained.model);
    out.description = fmt::format("{} (the best of `marquee train`'s search, in memory{})",
                                  trained.search.trials[trained.search.best].label,
                                  data.sample.sampled ? ", on " + data.sample.describe() : "");
  } else {
    ModelParams params;
    params.als = o.als;
    params.weights = o.weights;
    params.ease_lambda = o.ease_lambda;
    out.model = make_model(o.model, params);
    UserProfiles all;
    SampleReport sample;
    if (o.model != ModelKind::Tags) {
      // Within a budget, from profiles on disk (spilled, or a profiles file): a sample of users by hash
      // when they do not all fit (host/jobs/user_sample.h); the model keeps title-side state only.
      // Profiles in memory fitted the budget already: only --sample-users samples them.
      const bool on_disk = ws.spilled || !o.input.profiles_path.empty();
      if ((o.input.memory_budget > 0 && on_disk) || o.sample_users < 1) {
        const size_t budget = on_disk ? o.input.memory_budget : 0;
        MARQUEE_CHECK_ARG(o.model != ModelKind::Ease || ease_fits(ws.titles.num_titles(), budget),
                          "--model ease needs {0} x {0} matrices (~{1:.0f} MB while fitting and ranking), more than "
                          "half of --memory-budget {2:.0f} MB: raise the budget or choose another family",
                          ws.titles.num_titles(), ease_bytes(ws.titles.num_titles()) / 1e6, budget / 1e6);
        SamplePlan plan;
        plan.memory_budget = budget;
        plan.sample_users = o.sample_users;
        plan.costs = fit_costs(ws.titles, o.model, o.als);
        all = read_sampled_profiles(*ws.profiles, ws.profiles->seen_total(), plan, sample);
      } else {
        all = ws.profiles->read(0, ws.profiles->users());
      }
      MARQUEE_CHECK_INPUT(!all.seen.empty(),
                          "--model {}: nobody watched anything, there is no behaviour to learn from",
                          model_kind_name(o.model));
    }
    out.model->fit(ws.titles, all, choose_fit_backend(o.backend, o.scorer.cuda.device));
    out.description = describe_params(o.model, params);
    if (sample.sampled) {
      out.description += ", fitted on " + sample.describe();
      spdlog::warn("score: --model {} fitted on {}; every user is still scored (folded in)", model_kind_name(o.model),
                   sample.describe());
    }
  }
  spdlog::info("model: {} ready in {:.1f} s", out.description, seconds_since(t0));
  return out;
}

// Time of day: the fitted term of every title at --hour, added to the model's score (docs/quality.md).
std::optional<DaypartModel> load_daypart_for_hour(const ScoreJobOptions& o, const Catalog& catalog, const Model& model) {
  std::optional<DaypartModel> daypart;
  if (o.hour >= 0) {
    daypart = load_daypart_model(o.daypart_path, catalog);
    check_daypart_fits(*daypart, o.daypart_path, model.kind(), model.params().als, model.params().weights,
                       o.input.engagement.half_life_days);
    spdlog::info("daypart: ranking for {:02d}:00 with weight {:.4g}{}", o.hour, daypart->weight,
                 daypart->weight == 0 ? " (the fit found no effect of the hour: rankings unchanged)" : "");
  }
  return daypart;
}

// Top-K of one batch of users in the scoring space (the model's, plus the hour column with --hour).
void search_batch(const ScoreJobOptions& o, const UserProfiles& p, const Model& model, bool with_hour,
                  const TitleMatrix& scoring_titles, Scorer& scorer, TopKResult& result) {
  const size_t count = p.size();
  const Exclusions ex = Exclusions::from_profiles(p, o.exclude);
  std::vector<float> users = model.user_vectors(p);
  if (with_hour) users = with_hour_columns(users.data(), count, scoring_titles.dim() - 1, 1, 0);
  scorer.search(UserBatchView{count, scoring_titles.dim(), users.data(), &ex}, o.k, result);
}

// Users without usable signal get no rows and are listed in the unscored file; the first --show
// users' lists are printed.
void list_unscored_and_show(const ScoreJobOptions& o, const Workspace& ws, const UserProfiles& p, TopKResult& result,
                            AtomicFile& unscored, size_t& shown, ScoreJobSummary& s, std::FILE* show_to) {
  for (size_t u = 0; u < p.size(); ++u) {
    if (!p.summaries[u].usable) {
      result.counts[u] = 0;  // nothing to rank by: listed, never silently dropped
      unscored.write(fmt::format("{},no usable events\n", csv_field(p.user_ids[u])));
      ++s.unscored;
    } else if (shown < o.show && show_to) {
      // The terminal gets the head of the list; the file has all K.
      const size_t head = std::min<size_t>(result.counts[u], 5);
      print_recommendations(show_to, ws, p, u, result.titles.data() + u * o.k, result.scores.data() + u * o.k, head);
      if (head < result.counts[u]) fmt::print(show_to, "      ... {} more in {}\n", result.counts[u] - head, o.out_path);
      ++shown;
    }
  }
}

// Only the K selected titles per user, after unusable users were emptied; returns the seconds taken.
double choose_batch_artwork(ArtworkChooser& chooser, const UserProfiles& p, const TopKResult& result, size_t k,
                            std::vector<uint32_t>& chosen, size_t& artwork_default) {
  const auto t_art = Clock::now();
  chooser.choose(UserBatchView{p.size(), p.dim, p.vectors.data(), nullptr}, result, chosen);
  const double seconds = seconds_since(t_art);
  for (size_t u = 0; u < p.size(); ++u)
    for (size_t r = 0; r < result.counts[u]; ++r) artwork_default += chosen[u * k + r] == kNoArtwork;
  return seconds;
}

void log_score_summary(const ScoreJobOptions& o, const ScoreJobSummary& s, bool artwork, double artwork_seconds,
                       const RejectLog& rejects) {
  const std::string unscored_to = s.parts ? std::string("_unscored-NNNNN.csv") : o.out_path + ".unscored.csv";
  spdlog::info("score: {} users scored, {} without usable events{}, {} rows -> {} in {:.1f} s", s.scored, s.unscored,
               s.unscored ? fmt::format(" (-> {})", unscored_to) : "", s.rows, o.out_path, s.seconds);
  if (s.parts)
    spdlog::info("score: {} parts, {} kept from an earlier run (verified), {} written", s.parts, s.parts_skipped,
                 s.part_records.size() - s.parts_skipped);
  if (artwork)
    spdlog::info("score: artwork chosen for {} rows in {:.3f} s, {} rows of titles without variants keep their default "
                 "artwork", s.rows - s.artwork_default, artwork_seconds, s.artwork_default);
  spdlog::info("{}", rejects.summary());
}

// A file the run reads, as the manifest records it: a changed size or time means another input.
nlohmann::json describe_input(const std::string& flag, const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  nlohmann::json j = {{"flag", flag}, {"path", path}};
  if (fs::is_directory(path, ec)) {
    nlohmann::json files = nlohmann::json::object();
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_regular_file()) files[it->path().filename().string()] = describe_input("", it->path().string());
    j["files"] = files;
    j.erase("flag");
  } else {
    j["bytes"] = fs::file_size(path, ec);
    struct stat st {};
    j["mtime_ns"] = ::stat(path.c_str(), &st) == 0 ? int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec : 0;
  }
  if (flag.empty()) j.erase("path");
  if (flag.empty()) j.erase("flag");
  return j;
}

// Everything that decides a directory output's bytes: a part is kept on resume only when its
// sidecar records the same run (host/io/output_dir.h).
nlohmann::json describe_run(const ScoreJobOptions& o, const std::string& model, const char* format, size_t parts,
                            size_t users) {
  nlohmann::json inputs = nlohmann::json::array();
  inputs.push_back(describe_input("--catalog", o.input.catalog_dir));
  if (!o.input.events_path.empty()) inputs.push_back(describe_input("--events", o.input.events_path));
  if (!o.input.profiles_path.empty()) inputs.push_back(describe_input("--profiles", o.input.profiles_path));
  if (!o.model_dir.empty()) inputs.push_back(describe_input("--model-dir", o.model_dir + "/manifest.json"));
  if (!o.artwork_path.empty()) inputs.push_back(describe_input("--artwork", o.artwork_path));
  if (!o.daypart_path.empty()) inputs.push_back(describe_input("--daypart", o.daypart_path));
  const EngagementOptions& e = o.input.engagement;
  return {{"command", "score"},
          {"inputs", inputs},
          {"model", model},
          {"k", o.k},
          {"format", format},
          {"exclude", exclude_policy_name(o.exclude)},
          {"hour", o.hour},
          {"engagement",
           {{"complete_fraction", e.complete_fraction}, {"half_life_days", e.half_life_days}, {"as_of", e.as_of},
            {"max_playback_speed", e.max_playback_speed}}},
          {"backend", backend_name(o.backend)},
          {"gpu_precision", gpu_precision_name(o.scorer.cuda.precision)},
          {"partitions", parts},
          {"users", users}};
}

}  // namespace

ScoreJobSummary run_score_job(const ScoreJobOptions& o, std::FILE* show_to) {
  const auto t0 = Clock::now();
  const ResultFormat format = check_score_options(o);

  // A directory output holds its side files: DIR/_rejects.csv (the "_" keeps them out of part-* globs).
  const bool to_dir = is_output_dir_path(o.out_path);
  if (to_dir) {
    std::error_code ec;
    std::filesystem::create_directories(o.out_path, ec);
    MARQUEE_CHECK_INPUT(!ec, "cannot create the output folder {}: {}", o.out_path, ec.message());
  }
  RejectLog rejects = to_dir && o.common.rejects_path.empty()
                          ? RejectLog((std::filesystem::path(o.out_path) / "_rejects.csv").string(), o.common.strict,
                                      o.common.max_reject_rate, 10, true)
                          : job_rejects(o.common, o.out_path);
  InputOptions input = o.input;
  input.profile_device = o.scorer.cuda.device;  // --device: profiles are built where scoring runs
  MARQUEE_CHECK_ARG(input.events_path.empty() != input.profiles_path.empty(),
                    "give exactly one of --events FILE or --profiles FILE");
  if (input.spill_dir.empty()) input.spill_dir = spill_dir_for(o.out_path);
  Workspace ws = open_catalog(input.catalog_dir, rejects, input.layout.catalog_delimiter);
  open_profiles(ws, input, rejects);
  const size_t n_titles = ws.catalog.num_titles();
  MARQUEE_CHECK_ARG(o.k <= n_titles, "--top {} is larger than the catalogue ({} titles)", o.k, n_titles);
  // Artwork variants live in the tag space whatever --model ranks by: the choice uses the user's
  // tag-space profile vector (docs/artwork.md).
  std::unique_ptr<Artwork> artwork;
  if (!o.artwork_path.empty())
    artwork = std::make_unique<Artwork>(load_artwork(o.artwork_path, ws.catalog, ws.titles, rejects));
  const ScoreModel model = obtain_model(o, ws, rejects);
  const std::optional<DaypartModel> daypart = load_daypart_for_hour(o, ws.catalog, *model.model);
  // --hour: the model's titles plus one column holding each title's term at that hour (exact, one search).
  TitleMatrix daypart_matrix;
  if (daypart) daypart_matrix = with_daypart_columns(model.model->titles(), *daypart, {o.hour});
  const TitleMatrix& scoring_titles = daypart ? daypart_matrix : model.model->titles();
  ScorerChoice choice = choose_scorer(o.backend, scoring_titles, o.scorer);
  ScoreJobSummary s;
  s.backend = choice.scorer->describe();
  s.model = model.description;
  spdlog::info("scoring with {} [{}]", s.backend, choice.reason);
  // Users are folded in where they are scored: a batch's ALS half-step on the same device.
  if (choice.on_gpu) model.model->set_fold_in_solver(choose_als_row_solver(o.backend, o.scorer.cuda.device));
  std::unique_ptr<ArtworkChooser> chooser;
  if (artwork) {
    chooser = choose_artwork_chooser(choice, *artwork, o.scorer);
    spdlog::info("choosing artwork with {}", chooser->describe());
  }
  std::vector<uint32_t> chosen;
  double artwork_seconds = 0;

  // Bounded memory: a batch holds its vectors, its exclusions and batch * k results.
  size_t batch = std::max<size_t>(1, std::min(o.batch, o.max_result_bytes / (o.k * 8)));
  // Within a budget, a batch (vectors in both spaces, exclusions, results) takes at most a quarter of it.
  if (input.memory_budget > 0)
    batch = std::max<size_t>(1, std::min(batch, input.memory_budget / 4 /
                                                    (8 * (ws.titles.dim() + scoring_titles.dim()) + 16 * o.k + 512)));
  if (batch < o.batch) spdlog::info("batch lowered to {} users so that {} results per user fit in memory", batch, o.k);

  const size_t n_users = ws.profiles->users();
  s.users = n_users;
  TopKResult result;
  size_t shown = 0, done = 0;
  std::optional<Progress> progress;
  // Users [first, first + count) into `out`, their unscored ones into `unscored`.
  const auto score_users = [&](size_t first, size_t count, ResultsWriter& out, AtomicFile& unscored) {
    for (size_t at = first; at < first + count; at += batch) {
      const size_t n = std::min(batch, first + count - at);
      const UserProfiles p = ws.profiles->read(at, n);
      search_batch(o, p, *model.model, daypart.has_value(), scoring_titles, *choice.scorer, result);
      list_unscored_and_show(o, ws, p, result, unscored, shown, s, show_to);
      if (chooser) artwork_seconds += choose_batch_artwork(*chooser, p, result, o.k, chosen, s.artwork_default);
      out.write(p.user_ids, result, ws.catalog, chooser ? &chosen : nullptr);
      done += n;
      progress->update(double(done));
    }
  };

  if (!to_dir) {
    ResultsWriter out(o.out_path, format, artwork.get());
    AtomicFile unscored(o.out_path + ".unscored.csv");
    unscored.write("user_id,reason\n");
    progress.emplace("score", "users", double(n_users), o.progress_seconds);
    score_users(0, n_users, out, unscored);
    out.commit();
    unscored.commit_if(s.unscored > 0);  // users without usable events, if any
    s.rows = out.rows();
  } else {
    // Parts, each written whole and recorded; parts of an earlier run of the same inputs are kept.
    const size_t parts = o.partitions ? o.partitions : std::max<size_t>(1, (n_users + kUsersPerPart - 1) / kUsersPerPart);
    const char* ext = format == ResultFormat::Csv ? "csv" : "jsonl";
    OutputDir dir(o.out_path, describe_run(o, s.model, ext, parts, n_users), parts, ext, o.only_part < 0);
    MARQUEE_CHECK_ARG(o.only_part < long(parts), "part {} does not exist: {} parts", o.only_part, parts);
    s.parts = parts;
    std::vector<size_t> todo;
    for (size_t part = 0; part < parts; ++part)
      if (o.only_part < 0 || size_t(o.only_part) == part) todo.push_back(part);
    size_t to_do = 0;
    for (size_t part : todo) to_do += part_range(n_users, parts, part).count;
    progress.emplace("score", "users", double(to_do), o.progress_seconds);
    for (size_t part : todo) {
      const PartRange range = part_range(n_users, parts, part);
      PartRecord record;
      // A complete folder was verified whole when opened: its sidecars suffice now.
      if (dir.verified(part, &record, !dir.complete())) {
        ++s.parts_skipped;
        s.unscored += record.unscored;
        done += range.count;  // kept from an earlier run: counts as done
        progress->update(double(done));
      } else {
        ResultsWriter out(dir.part_path(part), format, artwork.get());
        AtomicFile unscored(dir.unscored_path(part));
        unscored.write("user_id,reason\n");
        const size_t unscored_before = s.unscored;
        score_users(range.first, range.count, out, unscored);
        out.commit();
        unscored.commit_if(s.unscored > unscored_before);
        record = dir.record(part, range, s.unscored - unscored_before);
      }
      s.rows += record.rows;
      s.part_records.push_back(record);
    }
    if (o.only_part < 0) dir.finish();
  }
  progress->finish();
  rejects.finish();
  size_t covered = n_users;  // the users this run wrote or kept: all, or only_part's
  if (o.only_part >= 0) covered = s.part_records.empty() ? 0 : s.part_records[0].users;
  s.scored = covered - s.unscored;
  s.rejected = rejects.count();
  s.seconds = seconds_since(t0);
  log_score_summary(o, s, chooser != nullptr, artwork_seconds, rejects);
  return s;
}

}  // namespace marquee
