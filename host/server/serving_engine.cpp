#include "host/server/serving_engine.h"
#include "engine/clock.h"

#include "engine/enum_names.h"
#include "engine/error.h"
#include "host/io/artwork_io.h"
#include "host/jobs/daypart_job.h"
#include "host/io/catalog_io.h"
#include "host/io/events_io.h"
#include "host/io/model_dir.h"
#include "host/jobs/jobs.h"
#include "host/io/profile_io.h"
#include "host/io/record_reader.h"
#include "host/io/rejects.h"
#include "host/server/device_memory.h"
#include "host/server/sharded_scorer.h"
#include "host/io/timestamp.h"
#include "host/backend/resolver.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <unordered_set>

namespace marquee::server {
namespace {

// An exact scorer as the server searches with it: the backend's; on the CPU sparse path split into
// title shards, because small batches use one core there and shards put every core on them
// (results are identical either way).
ScorerChoice serving_scorer(const TitleMatrix& titles, Backend backend, const ScorerOptions& options,
                            size_t title_shards) {
  ScorerChoice choice = choose_scorer(backend, titles, options);
  if (choice.on_gpu) return choice;
  const CpuScorerOptions& cpu = options.cpu;
  const bool sparse = cpu.path == CpuScoringPath::Sparse ||
                      (cpu.path == CpuScoringPath::Auto && titles.density() < cpu.sparse_density_threshold);
  size_t shards = title_shards;
  if (shards == 0) shards = cpu.threads > 0 ? size_t(cpu.threads) : std::max(1u, std::thread::hardware_concurrency());
  shards = std::min(shards, titles.num_titles());
  if (sparse && shards > 1) {
    choice.scorer = make_sharded_cpu_scorer(titles, shards, cpu);
    choice.reason += fmt::format("; {} title shards", shards);
  }
  return choice;
}

// The rules of host/io/events_io.cpp (docs/formats.md), applied to one event from a client.

std::string validate_event(const Catalog& catalog, const RawEvent& r, Event& ev) {
  if (r.user_id.empty()) return "missing user_id";
  return parse_event(catalog, {r.ts, r.title_id, r.event, r.position_s, r.seek_to_s ? &*r.seek_to_s : nullptr}, ev);
}

// build_profiles' notion of an exact duplicate (engine/profiles.cpp) as a hashable key: two events
// are duplicates exactly when title, time, type and position agree, and the seek target for seeks
// (floats normalised so that -0 and 0 agree, as == says).
std::string event_key(const Event& e) {
  const float position = e.position_s + 0.0f, seek = e.type == EventType::Seek ? e.seek_to_s + 0.0f : 0.0f;
  const uint8_t type = uint8_t(e.type);
  std::string key(sizeof e.title + sizeof e.ts + sizeof type + 2 * sizeof(float), '\0');
  char* at = key.data();
  for (auto [p, n] : {std::pair<const void*, size_t>{&e.title, sizeof e.title}, {&e.ts, sizeof e.ts},
                      {&type, sizeof type}, {&position, sizeof position}, {&seek, sizeof seek}}) {
    std::memcpy(at, p, n);
    at += n;
  }
  return key;
}

std::shared_ptr<UserState> state_from(const UserProfiles& p, size_t u) {
  auto s = std::make_shared<UserState>();
  s->id = p.user_ids[u];
  s->vector.assign(p.vector(u), p.vector(u) + p.dim);
  s->seen.assign(p.seen_begin(u), p.seen_end(u));
  s->summary = p.summaries[u];
  return s;
}

// --events: the user's profile from all their raw events, by the batch job's own function.
std::shared_ptr<UserState> rebuild_from_events(const Snapshot& snap, const std::string& id, std::vector<Event> events) {
  UserProfiles p = build_profiles(snap.catalog, snap.titles, events, {id}, snap.engagement);
  auto s = state_from(p, 0);
  s->events = std::move(events);
  return s;
}

// --profiles: the file has weights, not events. Online events give their titles new weights; the
// other titles keep the file's; the vector is re-formed from the merged weights in title order (the
// order build_profiles accumulates in).
std::shared_ptr<UserState> rebuild_from_file_and_online(const Snapshot& snap, const UserState* old,
                                                        const std::string& id, std::vector<Event> online) {
  std::vector<SeenTitle> base_seen;
  UserSummary base_summary;
  if (old) {
    base_seen = old->events.empty() ? old->seen : old->file_seen;
    base_summary = old->events.empty() ? old->summary : old->file_summary;
  }
  const UserProfiles p = build_profiles(snap.catalog, snap.titles, online, {id}, snap.engagement);
  std::map<uint32_t, SeenTitle> merged;
  for (const auto& s : base_seen) merged[s.title] = s;
  for (const SeenTitle* s = p.seen_begin(0); s != p.seen_end(0); ++s) merged[s->title] = *s;

  auto st = std::make_shared<UserState>();
  st->id = id;
  st->from_profiles_file = old ? old->from_profiles_file : false;
  st->file_seen = std::move(base_seen);
  st->file_summary = base_summary;
  st->events = std::move(online);
  const UserSummary& on = p.summaries[0];
  UserSummary sum = base_summary;
  sum.events += on.events;
  sum.abandoned += on.abandoned;
  sum.watched_s += on.watched_s;
  for (size_t h = 0; h < 24; ++h) sum.daypart[h] += on.daypart[h];
  sum.titles = uint32_t(merged.size());
  sum.completed = 0;
  const size_t dim = snap.titles.dim();
  st->vector.assign(dim, 0.0f);
  float* vec = st->vector.data();
  for (const auto& [t, s] : merged) {
    st->seen.push_back(s);
    sum.completed += s.completed;
    if (s.weight != 0.0f)
      for (uint64_t k = snap.titles.row_ptr()[t]; k < snap.titles.row_ptr()[t + 1]; ++k)
        vec[snap.titles.col_idx()[k]] += s.weight * snap.titles.values()[k];
  }
  sum.usable = l2_normalise(vec, dim) > 1e-12 ? 1 : 0;
  if (!sum.usable) std::fill(vec, vec + dim, 0.0f);
  st->summary = sum;
  return st;
}

size_t k_bucket(size_t k) {
  size_t b = 0;
  for (size_t v = 32; v < k; v <<= 1) ++b;
  return b;
}

}  // namespace

const char* search_status_name(SearchStatus status) {
  static constexpr EnumName<SearchStatus> kNames[] = {{SearchStatus::Ok, "ok"},
                                                      {SearchStatus::Overloaded, "overloaded"},
                                                      {SearchStatus::DeadlineExceeded, "deadline"},
                                                      {SearchStatus::ShuttingDown, "shutting_down"},
                                                      {SearchStatus::Failed, "failed"}};
  return enum_name(kNames, status);
}

// ---------------------------------------------------------------------------------------------
// ProfileStore

std::shared_ptr<const UserState> ProfileStore::find(std::string_view id) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = index_.find(std::string(id));
  return it == index_.end() ? nullptr : users_[it->second];
}

bool ProfileStore::put(std::shared_ptr<const UserState> user) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  auto [it, inserted] = index_.try_emplace(user->id, uint32_t(users_.size()));
  if (inserted) users_.push_back(std::move(user));
  else users_[it->second] = std::move(user);
  return inserted;
}

std::vector<std::shared_ptr<const UserState>> ProfileStore::sample(size_t count) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<std::shared_ptr<const UserState>> out;
  const size_t n = std::min(count, users_.size());
  for (size_t i = 0; i < n; ++i) out.push_back(users_[i * users_.size() / n]);
  return out;
}

size_t ProfileStore::size() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return users_.size();
}

// ---------------------------------------------------------------------------------------------
// Snapshot

const TitleMatrix& Snapshot::space_titles(SearchSpace space) const {
  switch (resolve(space)) {
    case SearchSpace::Ranking: return model ? model->titles() : titles;
    case SearchSpace::Tags: return titles;
    case SearchSpace::Similarity: return model->similarity_titles();
  }
  return titles;
}

Scorer& Snapshot::space_scorer(SearchSpace space) const {
  switch (resolve(space)) {
    case SearchSpace::Ranking: return *scorer;
    case SearchSpace::Tags: return *tag_scorer;
    case SearchSpace::Similarity: return *similar_scorer;
  }
  return *scorer;
}

std::vector<float> Snapshot::ranking_vector(const UserState& user) const {
  if (!model) return user.vector;
  // A one-user batch of the shape build_profiles gives: the model folds them in as `score` does.
  UserProfiles one;
  one.dim = titles.dim();
  one.user_ids = {user.id};
  one.vectors = user.vector;
  one.seen_offsets = {0, user.seen.size()};
  one.seen = user.seen;
  one.summaries = {user.summary};
  return model->user_vectors(one);
}

// ---------------------------------------------------------------------------------------------
// Loading and reloading

ServingEngine::ServingEngine(EngineOptions options) : options_(std::move(options)) {
  MARQUEE_CHECK_ARG(options_.max_batch >= 1 && options_.max_batch <= kMaxBatchUsers,
                    "--max-batch must be between 1 and {}; got {}", kMaxBatchUsers, options_.max_batch);
  MARQUEE_CHECK_ARG(options_.queue_limit >= 1, "--queue-limit must be at least 1; got {}", options_.queue_limit);
  MARQUEE_CHECK_ARG(options_.max_user_events >= 1, "--max-user-events must be at least 1; got {}",
                    options_.max_user_events);
  MARQUEE_CHECK_ARG(options_.deadline_ms >= 1, "--deadline-ms must be at least 1; got {}", options_.deadline_ms);
  MARQUEE_CHECK_ARG(options_.max_wait_us <= 1'000'000, "--max-wait-us must be at most 1000000 (1 s); got {}",
                    options_.max_wait_us);
  MARQUEE_CHECK_ARG(options_.index_path.empty() || !options_.index_factory.empty(),
                    "--index-path needs --index FACTORY (the index to load or build)");
  MARQUEE_CHECK_ARG(options_.index_params.empty() || !options_.index_factory.empty(),
                    "--index-params '{}' needs --index FACTORY", options_.index_params);

  metrics_.add_histogram("marquee_batch_size", "searches executed together in one batch", Metrics::size_buckets());
  metrics_.add_histogram("marquee_batch_seconds", "time to execute one batch", Metrics::latency_buckets());
  metrics_.add_histogram("marquee_queue_wait_seconds", "time a search waited in the queue",
                         Metrics::latency_buckets());
  metrics_.add_gauge("marquee_queue_depth", "searches waiting in the micro-batch queue");
  metrics_.add_gauge("marquee_queue_limit", "queue size beyond which searches are refused (503)");
  metrics_.add_counter("marquee_searches_total", "searches by outcome");
  metrics_.add_counter("marquee_events_total", "playback events received online, by result");
  metrics_.add_counter("marquee_reloads_total", "snapshot reloads by result");
  metrics_.add_gauge("marquee_snapshot_generation", "generation of the snapshot being served");
  metrics_.add_gauge("marquee_users", "users in the profile store");
  metrics_.add_gauge("marquee_titles", "titles in the catalogue");
  metrics_.add_gauge("marquee_device_memory_bytes", "device memory as the CUDA runtime reports it (GPU backend)");
  metrics_.add_gauge("marquee_model_info", "the model recommendations rank with (value 1; family and version as labels)");
  metrics_.set("marquee_queue_limit", {}, double(options_.queue_limit));

  snapshot_ = load_snapshot(1, options_.model_dir);
  metrics_.set_only("marquee_model_info", {{"family", snapshot_->model_family}, {"version", snapshot_->model_version}}, 1);
  metrics_.inc("marquee_reloads_total", {{"result", "ok"}}, 0);
  worker_ = std::thread([this] { worker_loop(); });
}

ServingEngine::~ServingEngine() { stop(); }

std::shared_ptr<const Snapshot> ServingEngine::snapshot() const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  return snapshot_;
}

namespace {

// The catalogue, its title vectors, the ranking model, and the optional artwork and daypart models.
void load_catalog_and_models(Snapshot& snap, const EngineOptions& options, const std::string& model_dir,
                             RejectLog& rejects) {
  const InputOptions& in = options.input;
  snap.catalog = load_catalog(in.catalog_dir, rejects, in.layout.catalog_delimiter);
  snap.titles = TitleMatrix::build(snap.catalog);
  snap.engagement = in.engagement;
  snap.model_version = fmt::format("tags-{:016x}", snap.catalog.fingerprint());
  if (!model_dir.empty()) {
    LoadedModel loaded = load_model_dir(model_dir, snap.catalog, snap.titles);
    snap.model = std::move(loaded.model);
    snap.model_family = model_kind_name(snap.model->kind());
    snap.model_version = loaded.version;
    spdlog::info("serve: ranking with the {} model {} from {}", snap.model_family, snap.model_version, model_dir);
  }
  if (!options.artwork_path.empty())
    snap.artwork = std::make_unique<Artwork>(load_artwork(options.artwork_path, snap.catalog, snap.titles, rejects));
  if (!options.daypart_path.empty()) {
    snap.daypart = std::make_unique<DaypartModel>(load_daypart_model(options.daypart_path, snap.catalog));
    // The daypart terms were fitted against one model's scores: it must be the one served.
    if (snap.model)
      check_daypart_fits(*snap.daypart, options.daypart_path, snap.model->kind(), snap.model->params().als,
                         snap.model->params().weights, options.input.engagement.half_life_days);
    else
      check_daypart_fits(*snap.daypart, options.daypart_path, ModelKind::Tags, {}, {},
                         options.input.engagement.half_life_days);
  }
}

// --events: every user's profile built from the events, with their raw events kept (grouped by
// user) so that online events rebuild them exactly.
void load_users_from_events(Snapshot& snap, const InputOptions& in, RejectLog& rejects) {
  snap.from_events = true;
  snap.source = "events " + in.events_path;
  LoadedEvents loaded = load_events(in.events_path, snap.catalog, rejects, 0, in.layout.events);
  std::vector<Event> kept = loaded.events;  // build_profiles consumes its copy
  ProfileBuildStats stats;
  const UserProfiles p = build_profiles(snap.catalog, snap.titles, std::move(loaded.events), loaded.user_ids,
                                        in.engagement, &stats);
  reject_duplicates(in.events_path, stats.duplicates, rejects);
  // Freeze the recency reference so that a user rebuilt later gets the weights the load gave.
  if (snap.engagement.as_of == 0) snap.engagement.as_of = stats.as_of;
  // Raw events grouped by user, file order kept within a user (the order build_profiles sees).
  std::vector<size_t> begin(p.size() + 1, 0);
  for (const Event& e : kept) ++begin[e.user + 1];
  for (size_t u = 0; u < p.size(); ++u) begin[u + 1] += begin[u];
  std::vector<Event> grouped(kept.size());
  std::vector<size_t> cursor(begin.begin(), begin.end() - 1);
  for (Event e : kept) {
    const uint32_t u = e.user;
    e.user = 0;
    grouped[cursor[u]++] = e;
  }
  kept.clear();
  kept.shrink_to_fit();
  for (size_t u = 0; u < p.size(); ++u) {
    auto s = state_from(p, u);
    s->events.assign(grouped.begin() + begin[u], grouped.begin() + begin[u + 1]);
    snap.users.put(std::move(s));
  }
  spdlog::info("serve: {} users from {} event rows ({} rejected, {} without usable signal)", p.size(),
               loaded.rows, rejects.count(), stats.unusable_users);
}

// --profiles: every user of the profiles file (checked against the catalogue).
void load_users_from_profiles(Snapshot& snap, const InputOptions& in) {
  snap.source = "profiles " + in.profiles_path;
  ProfileReader reader(in.profiles_path);
  reader.check_catalog(snap.catalog.fingerprint(), snap.catalog.num_titles(), snap.titles.dim());
  const UserProfiles p = reader.read(0, reader.users());
  for (size_t u = 0; u < p.size(); ++u) {
    auto s = state_from(p, u);
    s->from_profiles_file = true;
    snap.users.put(std::move(s));
  }
  spdlog::info("serve: {} users from {}", p.size(), in.profiles_path);
}

// The exact scorer, and with --daypart the scorer of ?hour= searches: one matrix for every hour,
// the titles plus 24 columns of terms; a query sets its hour's column.
void choose_snapshot_scorers(Snapshot& snap, const EngineOptions& options) {
  const TitleMatrix& ranking = snap.space_titles(SearchSpace::Ranking);
  ScorerChoice choice = serving_scorer(ranking, options.backend, options.scorer, options.title_shards);
  snap.scorer = std::move(choice.scorer);
  snap.scorer_reason = choice.reason;
  snap.on_gpu = choice.on_gpu;
  if (snap.on_gpu && options.title_shards > 1)
    spdlog::warn("serve: --title-shards {} applies to the CPU backend only; the GPU searches all titles at once",
                 options.title_shards);
  spdlog::info("serve: exact search with {} [{}]", snap.scorer->describe(), snap.scorer_reason);
  if (snap.model) {
    snap.tag_scorer = serving_scorer(snap.titles, options.backend, options.scorer, options.title_shards).scorer;
    snap.similar_scorer =
        serving_scorer(snap.model->similarity_titles(), options.backend, options.scorer, options.title_shards).scorer;
  }
  if (!snap.daypart) return;
  std::vector<int> hours(24);
  for (int h = 0; h < 24; ++h) hours[size_t(h)] = h;
  const TitleMatrix dt = with_daypart_columns(ranking, *snap.daypart, hours);
  ScorerOptions so = options.scorer;
  if (so.cpu.path == CpuScoringPath::Auto) {
    // The CPU path `score --hour` takes (its matrix has one such column, not 24): both rank alike.
    const double t = double(ranking.num_titles()), d = double(ranking.dim());
    const double one_column = (ranking.density() * t * d + t) / (t * (d + 1));
    so.cpu.path = one_column < so.cpu.sparse_density_threshold ? CpuScoringPath::Sparse : CpuScoringPath::Dense;
  }
  snap.daypart_scorer = serving_scorer(dt, options.backend, so, options.title_shards).scorer;
  spdlog::info("serve: ?hour= searches with {} (daypart weight {:.4g})", snap.daypart_scorer->describe(),
               snap.daypart->weight);
}

// The ANN index: loaded from --index-path when it was built from this catalogue with this factory,
// else built. Returns true when built.
bool load_or_build_index(Snapshot& snap, const EngineOptions& options) {
  const uint64_t fp = snap.catalog.fingerprint();
  const TitleMatrix& ranking = snap.space_titles(SearchSpace::Ranking);
  const size_t n = ranking.num_titles(), dim = ranking.dim();
  // Over the ranking space: the tag vectors, or a model's title side (named by its version).
  const std::string over = snap.model ? "model " + snap.model_version : "titles";
  AnnIndexInfo on_disk;
  const bool reusable = !options.index_path.empty() && std::filesystem::exists(options.index_path) &&
                        AnnIndex::read_info(options.index_path, on_disk) &&
                        on_disk.factory == options.index_factory && on_disk.over == over &&
                        on_disk.rows == n && on_disk.dim == dim && on_disk.fingerprint == fp;
  if (reusable) {
    snap.index = AnnIndex::load(options.index_path);
    spdlog::info("serve: loaded index {} ({})", options.index_path, options.index_factory);
    return false;
  }
  if (!options.index_path.empty() && std::filesystem::exists(options.index_path))
    spdlog::info("serve: index {} was built from other data or with another factory: rebuilding",
                 options.index_path);
  AnnIndexInfo info;
  info.over = over;
  info.fingerprint = fp;
  snap.index = AnnIndex::build(options.index_factory, ranking.dense().data(), n, dim, info);
  spdlog::info("serve: built {} over {} titles in {:.2f} s", options.index_factory, n,
               snap.index->info().build_seconds);
  return true;
}

// Recall@K of the index against exact search, on real queries: a spread of users with usable
// vectors (title vectors when there are none).
void measure_index_recall(const Snapshot& snap, const EngineOptions& options) {
  const TitleMatrix& ranking = snap.space_titles(SearchSpace::Ranking);
  const size_t n = ranking.num_titles(), dim = ranking.dim();
  std::vector<float> queries;
  for (const auto& u : snap.users.sample(options.index_recall_queries))
    if (u->summary.usable) {
      const std::vector<float> v = snap.ranking_vector(*u);
      queries.insert(queries.end(), v.begin(), v.end());
    }
  if (queries.empty())
    for (size_t q = 0; q < std::min(options.index_recall_queries, n); ++q) {
      const size_t t = q * n / std::min(options.index_recall_queries, n);
      queries.insert(queries.end(), ranking.row(t), ranking.row(t) + dim);
    }
  const size_t nq = queries.size() / dim;
  const double recall =
      snap.index->measure_recall(*snap.scorer, queries.data(), nq, std::min(options.index_recall_k, n));
  spdlog::info("serve: index recall@{} against exact search: {:.4f} on {} queries{}", snap.index->info().recall_k,
               recall, nq, options.index_params.empty() ? "" : " with " + options.index_params);
}

// --index: the ANN index with its search parameters and measured recall; saved when built.
void prepare_index(Snapshot& snap, const EngineOptions& options) {
  const bool built = load_or_build_index(snap, options);
  snap.index->set_search_params(options.index_params);
  measure_index_recall(snap, options);
  if (built && !options.index_path.empty()) {
    snap.index->save(options.index_path);
    spdlog::info("serve: saved the index to {}", options.index_path);
  }
}

}  // namespace

std::shared_ptr<Snapshot> ServingEngine::load_snapshot(uint64_t generation, const std::string& model_dir) {
  const auto t0 = Clock::now();
  const InputOptions& in = options_.input;
  MARQUEE_CHECK_ARG(in.events_path.empty() != in.profiles_path.empty(),
                    "serve needs exactly one of --events FILE or --profiles FILE");
  auto snap = std::make_shared<Snapshot>();
  snap->generation = generation;
  RejectLog rejects(options_.rejects_path, options_.strict, options_.max_reject_rate);
  load_catalog_and_models(*snap, options_, model_dir, rejects);
  if (!in.events_path.empty()) load_users_from_events(*snap, in, rejects);
  else load_users_from_profiles(*snap, in);
  rejects.finish();
  choose_snapshot_scorers(*snap, options_);
  if (!options_.index_factory.empty()) prepare_index(*snap, options_);
  snap->load_seconds = seconds_since(t0);
  return snap;
}

void ServingEngine::apply_events(Snapshot& snap, const std::vector<JournalEntry>& entries, IngestReport* report) {
  // Users in order of first appearance, each with their new events in arrival order.
  std::vector<std::string> order;
  std::unordered_map<std::string, std::vector<const JournalEntry*>> by_user;
  for (const auto& e : entries) {
    auto [it, inserted] = by_user.try_emplace(e.user_id);
    if (inserted) order.push_back(e.user_id);
    it->second.push_back(&e);
  }
  for (const auto& id : order) {
    const auto old = snap.users.find(id);
    std::vector<Event> events = old ? old->events : std::vector<Event>{};
    for (const JournalEntry* e : by_user[id]) events.push_back(e->event);
    std::shared_ptr<UserState> fresh = snap.from_events || !old || !old->from_profiles_file
                                           ? rebuild_from_events(snap, id, std::move(events))
                                           : rebuild_from_file_and_online(snap, old.get(), id, std::move(events));
    const bool added = snap.users.put(std::move(fresh));
    if (report) {
      ++report->users_updated;
      report->users_added += added;
    }
  }
}

IngestReport ServingEngine::ingest(const std::vector<RawEvent>& raw) {
  IngestReport report;
  std::lock_guard<std::mutex> lock(ingest_mu_);
  std::shared_ptr<Snapshot> snap;
  {
    std::lock_guard<std::mutex> s(snapshot_mu_);
    snap = snapshot_;
  }
  std::vector<JournalEntry> accepted;
  std::unordered_map<std::string, size_t> accepted_per_user;
  // Duplicate checks in O(1) per event: each touched user's held events are hashed once per request
  // (they are at most --max-user-events), and this request's accepted events as they come. Before,
  // every event was compared with all held and all accepted ones: O(n^2) in a 10,000-event post.
  std::unordered_map<std::string, std::unordered_set<std::string>> held_keys, request_keys;
  for (size_t i = 0; i < raw.size(); ++i) {
    JournalEntry entry;
    std::string reason = validate_event(snap->catalog, raw[i], entry.event);
    if (reason.empty()) {
      const auto old = snap->users.find(raw[i].user_id);
      const size_t held = (old ? old->events.size() : 0) + accepted_per_user[raw[i].user_id];
      if (held >= options_.max_user_events)
        reason = fmt::format("user '{}' already has {} events held; the limit is {} (--max-user-events)",
                             raw[i].user_id, held, options_.max_user_events);
    }
    if (reason.empty()) {
      // An exact duplicate of a known event or of an earlier one in this request is dropped, as
      // build_profiles drops duplicates in a file.
      const std::string key = event_key(entry.event);
      auto held = held_keys.find(raw[i].user_id);
      if (held == held_keys.end()) {
        held = held_keys.emplace(raw[i].user_id, std::unordered_set<std::string>{}).first;
        if (const auto old = snap->users.find(raw[i].user_id))
          for (const Event& e : old->events) held->second.insert(event_key(e));
      }
      if (held->second.count(key)) reason = "duplicate event (already received)";
      else if (!request_keys[raw[i].user_id].insert(key).second)
        reason = "duplicate event (same as an earlier one in this request)";
    }
    if (!reason.empty()) {
      report.rejected.emplace_back(i, std::move(reason));
      continue;
    }
    entry.user_id = raw[i].user_id;
    entry.title_id = raw[i].title_id;
    ++accepted_per_user[entry.user_id];
    accepted.push_back(std::move(entry));
  }
  apply_events(*snap, accepted, &report);
  report.accepted = accepted.size();
  journal_.insert(journal_.end(), std::make_move_iterator(accepted.begin()), std::make_move_iterator(accepted.end()));
  metrics_.inc("marquee_events_total", {{"result", "accepted"}}, double(report.accepted));
  metrics_.inc("marquee_events_total", {{"result", "rejected"}}, double(report.rejected.size()));
  return report;
}

ReloadReport ServingEngine::reload(const std::optional<std::string>& model_dir) {
  std::lock_guard<std::mutex> one_at_a_time(reload_mu_);
  const auto t0 = Clock::now();
  const uint64_t generation = snapshot()->generation + 1;
  std::shared_ptr<Snapshot> fresh;
  try {
    fresh = load_snapshot(generation, model_dir.value_or(options_.model_dir));
  } catch (...) {
    metrics_.inc("marquee_reloads_total", {{"result", "failed"}});
    throw;
  }
  ReloadReport report;
  {
    // Events keep arriving while the files load; the last ones are applied under this lock, so none
    // is lost between the replay and the swap.
    std::lock_guard<std::mutex> lock(ingest_mu_);
    std::vector<JournalEntry> replay;
    for (const auto& e : journal_) {
      const auto t = fresh->catalog.find_title(e.title_id);
      if (!t) {
        ++report.dropped_events;
        continue;
      }
      JournalEntry moved = e;
      moved.event.title = *t;
      replay.push_back(std::move(moved));
    }
    // The files may already hold some of these events (appended by the pipeline): skip exact
    // duplicates of what the new profiles were built from.
    std::vector<JournalEntry> fresh_only;
    std::unordered_map<std::string, std::unordered_set<std::string>> held_keys;  // per user, hashed once
    for (auto& e : replay) {
      auto held = held_keys.find(e.user_id);
      if (held == held_keys.end()) {
        held = held_keys.emplace(e.user_id, std::unordered_set<std::string>{}).first;
        if (const auto old = fresh->users.find(e.user_id))
          for (const Event& x : old->events) held->second.insert(event_key(x));
      }
      if (held->second.count(event_key(e.event))) continue;
      fresh_only.push_back(std::move(e));
    }
    apply_events(*fresh, fresh_only, nullptr);
    report.replayed_events = fresh_only.size();
    std::lock_guard<std::mutex> s(snapshot_mu_);
    snapshot_ = fresh;
  }
  if (model_dir) options_.model_dir = *model_dir;  // later reloads re-read the folder switched to
  metrics_.set_only("marquee_model_info", {{"family", fresh->model_family}, {"version", fresh->model_version}}, 1);
  report.model_version = fresh->model_version;
  report.generation = generation;
  report.users = fresh->users.size();
  report.titles = fresh->catalog.num_titles();
  report.seconds = seconds_since(t0);
  metrics_.inc("marquee_reloads_total", {{"result", "ok"}});
  spdlog::info("serve: reloaded generation {} in {:.2f} s ({} users, {} titles, model {}, {} online events re-applied{})",
               generation, report.seconds, report.users, report.titles, report.model_version, report.replayed_events,
               report.dropped_events ? fmt::format(", {} dropped: title no longer in the catalogue", report.dropped_events)
                                     : "");
  return report;
}

// ---------------------------------------------------------------------------------------------
// Micro-batching

std::future<SearchOutcome> ServingEngine::submit(SearchQuery q) {
  MARQUEE_CHECK_ARG(q.snapshot != nullptr, "a search needs the snapshot its vector came from");
  q.space = q.snapshot->resolve(q.space);
  const size_t n_titles = q.snapshot->titles.num_titles();
  MARQUEE_CHECK_ARG(q.k >= 1 && q.k <= n_titles, "k must be between 1 and {}; got {}", n_titles, q.k);
  const size_t dim = q.snapshot->space_titles(q.space).dim();
  MARQUEE_CHECK_ARG(q.vector.size() == dim, "the vector has {} values but the search space has {} dimensions",
                    q.vector.size(), dim);
  MARQUEE_CHECK_ARG(q.hour < 0 || q.space == SearchSpace::Ranking, "hour applies to recommendations only");
  MARQUEE_CHECK_ARG(std::is_sorted(q.exclude.begin(), q.exclude.end()), "exclusions must be sorted title indices");
  MARQUEE_CHECK_ARG(q.exclude.empty() || q.exclude.back() < n_titles, "excluded title index {} is outside the catalogue ({} titles)",
                    q.exclude.empty() ? 0 : q.exclude.back(), n_titles);
  MARQUEE_CHECK_ARG(q.hour >= -1 && q.hour <= 23, "hour must be 0..23; got {}", q.hour);
  MARQUEE_CHECK_ARG(q.hour < 0 || q.snapshot->daypart != nullptr,
                    "hour needs a daypart model: start the server with --daypart FILE (from `marquee daypart`)");

  auto job = std::make_unique<Job>();
  job->query = std::move(q);
  job->enqueued = Clock::now();
  job->deadline = job->enqueued + std::chrono::milliseconds(options_.deadline_ms);
  std::future<SearchOutcome> result = job->done.get_future();
  {
    std::unique_lock<std::mutex> lock(queue_mu_);
    if (stopping_ || queue_.size() >= options_.queue_limit) {
      const bool stopping = stopping_;
      const size_t depth = queue_.size();
      lock.unlock();
      SearchOutcome o;
      o.status = stopping ? SearchStatus::ShuttingDown : SearchStatus::Overloaded;
      o.message = stopping ? "the server is shutting down"
                           : fmt::format("overloaded: {} searches already queued (queue limit {}); retry later", depth,
                                         options_.queue_limit);
      metrics_.inc("marquee_searches_total", {{"outcome", search_status_name(o.status)}});
      job->done.set_value(std::move(o));
      return result;
    }
    queue_.push_back(std::move(job));
    queue_depth_.store(queue_.size());
    // Wake the worker for the first search of a batch and when a batch is full; in between it is
    // waiting out max_wait_us anyway.
    if (queue_.size() == 1 || queue_.size() >= options_.max_batch) queue_cv_.notify_one();
  }
  return result;
}

void ServingEngine::worker_loop() {
  std::unique_lock<std::mutex> lock(queue_mu_);
  for (;;) {
    queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping and drained
    const auto until = queue_.front()->enqueued + std::chrono::microseconds(options_.max_wait_us);
    while (!stopping_ && queue_.size() < options_.max_batch && Clock::now() < until) queue_cv_.wait_until(lock, until);
    const size_t n = std::min(queue_.size(), options_.max_batch);
    std::vector<std::unique_ptr<Job>> batch;
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    queue_depth_.store(queue_.size());
    lock.unlock();
    run_batch(batch);
    lock.lock();
  }
}

void ServingEngine::run_batch(std::vector<std::unique_ptr<Job>>& batch) {
  const auto start = Clock::now();
  if (options_.on_batch) options_.on_batch(batch.size());
  // Searches that waited past their deadline are answered without being run.
  std::vector<Job*> live;
  for (auto& job : batch) {
    const double waited = std::chrono::duration<double>(start - job->enqueued).count();
    metrics_.observe("marquee_queue_wait_seconds", {}, waited);
    if (start > job->deadline) {
      SearchOutcome o;
      o.status = SearchStatus::DeadlineExceeded;
      o.message = fmt::format("deadline of {} ms passed while the search was queued ({:.1f} ms); retry later",
                              options_.deadline_ms, waited * 1e3);
      o.queued_seconds = waited;
      metrics_.inc("marquee_searches_total", {{"outcome", search_status_name(o.status)}});
      job->done.set_value(std::move(o));
      continue;
    }
    live.push_back(job.get());
  }
  if (live.empty()) return;
  metrics_.observe("marquee_batch_size", {}, double(live.size()));

  // One Scorer / index call per (snapshot, searcher, K bucket): a K of 5000 does not slow down a
  // batch of K = 20 searches.
  // A daypart search is exact, on the snapshot's hour-column scorer; searches at different hours
  // share a batch (each row sets its own hour's column), so batching is not split 24 ways.
  // The index covers the ranking space only.
  auto uses_index = [](const Job* j) {
    return !j->query.exact && j->query.hour < 0 && j->query.space == SearchSpace::Ranking &&
           j->query.snapshot->index != nullptr;
  };
  auto key = [&](const Job* j) {
    return std::make_tuple(j->query.snapshot.get(), j->query.space, uses_index(j), k_bucket(j->query.k),
                           j->query.hour >= 0);
  };
  std::stable_sort(live.begin(), live.end(), [&](const Job* a, const Job* b) { return key(a) < key(b); });
  TopKResult result;
  for (size_t g0 = 0; g0 < live.size();) {
    size_t g1 = g0 + 1;
    while (g1 < live.size() && key(live[g1]) == key(live[g0])) ++g1;
    const Snapshot& snap = *live[g0]->query.snapshot;
    const bool index = uses_index(live[g0]);
    const SearchSpace space = live[g0]->query.space;
    const size_t dim = snap.space_titles(space).dim();
    const size_t count = g1 - g0;
    size_t k = 0;
    std::vector<float> vectors(count * dim);
    Exclusions ex;
    ex.offsets.reserve(count + 1);
    for (size_t i = 0; i < count; ++i) {
      const SearchQuery& q = live[g0 + i]->query;
      k = std::max(k, q.k);
      std::copy(q.vector.begin(), q.vector.end(), vectors.begin() + i * dim);
      ex.titles.insert(ex.titles.end(), q.exclude.begin(), q.exclude.end());
      ex.offsets.push_back(ex.titles.size());
    }
    std::string error;
    try {
      const UserBatchView view{count, dim, vectors.data(), &ex};
      if (index) {
        snap.index->search(view, k, result);
      } else if (live[g0]->query.hour >= 0 && snap.daypart_scorer) {
        std::vector<float> rows = with_hour_columns(vectors.data(), count, dim, 24, -1);
        for (size_t i = 0; i < count; ++i) rows[i * (dim + 24) + dim + size_t(live[g0 + i]->query.hour)] = 1.0f;
        snap.daypart_scorer->search(UserBatchView{count, dim + 24, rows.data(), &ex}, k, result);
      } else {
        snap.space_scorer(space).search(view, k, result);
      }
    } catch (const std::exception& e) {
      error = e.what();
      spdlog::error("serve: a batch of {} searches failed: {}", count, error);
    }
    for (size_t i = 0; i < count; ++i) {
      Job& job = *live[g0 + i];
      SearchOutcome o;
      o.batch_size = live.size();
      o.used_index = index;
      o.queued_seconds = std::chrono::duration<double>(start - job.enqueued).count();
      if (!error.empty()) {
        o.status = SearchStatus::Failed;
        o.message = "search failed: " + error;
      } else {
        const size_t n = std::min<size_t>(result.counts[i], job.query.k);
        o.items.resize(n);
        for (size_t r = 0; r < n; ++r) o.items[r] = {result.titles[i * k + r], result.scores[i * k + r]};
      }
      metrics_.inc("marquee_searches_total", {{"outcome", search_status_name(o.status)}});
      job.done.set_value(std::move(o));
    }
    g0 = g1;
  }
  metrics_.observe("marquee_batch_seconds", {}, std::chrono::duration<double>(Clock::now() - start).count());
}

void ServingEngine::stop() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

std::string ServingEngine::render_metrics() {
  const auto snap = snapshot();
  metrics_.set("marquee_queue_depth", {}, double(queue_depth()));
  metrics_.set("marquee_snapshot_generation", {}, double(snap->generation));
  metrics_.set("marquee_users", {}, double(snap->users.size()));
  metrics_.set("marquee_titles", {}, double(snap->catalog.num_titles()));
  if (snap->on_gpu) {
    const DeviceMemory m = query_device_memory(options_.scorer.cuda.device);
    if (m.known) {
      const std::string dev = std::to_string(options_.scorer.cuda.device);
      metrics_.set("marquee_device_memory_bytes", {{"device", dev}, {"kind", "free"}}, double(m.free_bytes));
      metrics_.set("marquee_device_memory_bytes", {{"device", dev}, {"kind", "total"}}, double(m.total_bytes));
      metrics_.set("marquee_device_memory_bytes", {{"device", dev}, {"kind", "used"}},
                   double(m.total_bytes - m.free_bytes));
    }
  }
  return metrics_.render();
}

}  // namespace marquee::server
