#include "host/jobs/score_job.h"

#include "engine/clock.h"
#include "engine/daypart.h"
#include "engine/error.h"
#include "engine/model.h"
#include "engine/model_search.h"
#include "host/backend/resolver.h"
#include "host/io/artwork_io.h"
#include "host/io/atomic_file.h"
#include "host/io/progress.h"
#include "host/io/results_io.h"
#include "host/io/model_dir.h"
#include "host/jobs/daypart_job.h"
#include "host/jobs/train_job.h"

#include <spdlog/spdlog.h>

#include <algorithm>
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
  const ResultFormat format = parse_result_format(o.format, o.out_path);
  MARQUEE_CHECK_ARG(o.hour < 0 || !o.daypart_path.empty(),
                    "--hour needs a daypart model: fit one with `marquee daypart --catalog C --events E --out "
                    "daypart.json --model {}` and pass --daypart daypart.json", model_kind_name(o.model));
  MARQUEE_CHECK_ARG(o.daypart_path.empty() || o.hour >= 0, "--daypart needs --hour H (0..23)");
  MARQUEE_CHECK_ARG(o.hour <= 23, "--hour {} is not an hour of day (0..23)", o.hour);
  return format;
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
    const TrainingData data = prepare_training_data(ws, o.input, t, rejects);
    TrainedModel trained = train_model(ws.titles, data.train, data.heldout, data.all, t, nullptr);
    out.model = std::move(trained.model);
    out.description = fmt::format("{} (the best of `marquee train`'s search, in memory)",
                                  trained.search.trials[trained.search.best].label);
  } else {
    ModelParams params;
    params.als = o.als;
    params.weights = o.weights;
    params.ease_lambda = o.ease_lambda;
    out.model = make_model(o.model, params);
    UserProfiles all;
    if (o.model != ModelKind::Tags) {
      all = ws.profiles->read(0, ws.profiles->users());
      MARQUEE_CHECK_INPUT(!all.seen.empty(),
                          "--model {}: nobody watched anything, there is no behaviour to learn from",
                          model_kind_name(o.model));
    }
    out.model->fit(ws.titles, all, choose_fit_backend(o.backend, o.scorer.cuda.device));
    out.description = describe_params(o.model, params);
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
  spdlog::info("score: {} users scored, {} without usable events{}, {} rows -> {} in {:.1f} s", s.scored, s.unscored,
               s.unscored ? fmt::format(" (-> {}.unscored.csv)", o.out_path) : "", s.rows, o.out_path, s.seconds);
  if (artwork)
    spdlog::info("score: artwork chosen for {} rows in {:.3f} s, {} rows of titles without variants keep their default "
                 "artwork", s.rows - s.artwork_default, artwork_seconds, s.artwork_default);
  spdlog::info("{}", rejects.summary());
}

}  // namespace

ScoreJobSummary run_score_job(const ScoreJobOptions& o, std::FILE* show_to) {
  const auto t0 = Clock::now();
  const ResultFormat format = check_score_options(o);

  RejectLog rejects = job_rejects(o.common, o.out_path);
  InputOptions input = o.input;
  input.profile_device = o.scorer.cuda.device;  // --device: profiles are built where scoring runs
  Workspace ws = open_workspace(input, rejects);
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
  std::unique_ptr<ArtworkChooser> chooser;
  if (artwork) {
    chooser = choose_artwork_chooser(choice, *artwork, o.scorer);
    spdlog::info("choosing artwork with {}", chooser->describe());
  }
  std::vector<uint32_t> chosen;
  double artwork_seconds = 0;

  // Bounded memory: a batch holds its vectors, its exclusions and batch * k results.
  const size_t batch = std::max<size_t>(1, std::min(o.batch, o.max_result_bytes / (o.k * 8)));
  if (batch < o.batch) spdlog::info("batch lowered to {} users so that {} results per user fit in memory", batch, o.k);

  ResultsWriter out(o.out_path, format, artwork.get());
  AtomicFile unscored(o.out_path + ".unscored.csv");
  unscored.write("user_id,reason\n");
  const size_t n_users = ws.profiles->users();
  s.users = n_users;
  TopKResult result;
  size_t shown = 0;
  Progress progress("score", "users", double(n_users), o.progress_seconds);
  for (size_t first = 0; first < n_users; first += batch) {
    const size_t count = std::min(batch, n_users - first);
    const UserProfiles p = ws.profiles->read(first, count);
    search_batch(o, p, *model.model, daypart.has_value(), scoring_titles, *choice.scorer, result);
    list_unscored_and_show(o, ws, p, result, unscored, shown, s, show_to);
    if (chooser) artwork_seconds += choose_batch_artwork(*chooser, p, result, o.k, chosen, s.artwork_default);
    out.write(p.user_ids, result, ws.catalog, chooser ? &chosen : nullptr);
    progress.update(double(first + count));
  }
  progress.finish();
  out.commit();
  unscored.commit_if(s.unscored > 0);  // users without usable events, if any
  rejects.finish();
  s.scored = n_users - s.unscored;
  s.rows = out.rows();
  s.rejected = rejects.count();
  s.seconds = seconds_since(t0);
  log_score_summary(o, s, chooser != nullptr, artwork_seconds, rejects);
  return s;
}

}  // namespace marquee
