// The serving engine behind `marquee serve`: an immutable snapshot (catalogue, title vectors, the
// backend's Scorer, an optional FAISS index) with an in-memory profile store that events update
// online, and a micro-batcher that queues concurrent top-K searches and runs them together.
//
//  - Snapshot: loaded once, swapped atomically by reload(); a search keeps the snapshot it started
//    with alive (shared_ptr), so a reload never drops or mixes requests.
//  - Profile store: one immutable UserState per user behind a shared_mutex; an update builds a new
//    state and swaps the pointer. With --events every user's raw events are kept, so a new event
//    rebuilds that user's profile with build_profiles exactly as `marquee profile` would have with the
//    event in the file. With --profiles there are no raw events: see ingest().
//  - Micro-batcher: a bounded queue (full: Overloaded, never an unbounded wait), one worker that
//    takes up to max_batch searches, waiting at most max_wait_us after the first for company, drops
//    those whose deadline passed while queued, and runs the rest as one Scorer (or index) call per
//    (snapshot, searcher, K bucket).
#pragma once

#include "engine/artwork.h"
#include "engine/clock.h"
#include "engine/backend.h"
#include "engine/catalog.h"
#include "engine/daypart.h"
#include "engine/model.h"
#include "engine/profiles.h"
#include "engine/scorer.h"
#include "engine/title_matrix.h"
#include "host/server/ann_index.h"
#include "host/server/metrics.h"
#include "host/jobs/workspace.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace marquee::server {


struct EngineOptions {
  InputOptions input;               // catalogue + exactly one of events / profiles
  std::string rejects_path;         // rejected input rows at load (empty: logged and counted only)
  std::string daypart_path;         // --daypart: a `marquee daypart` model; searches with hour >= 0 re-rank by it
  std::string artwork_path;         // --artwork: recommended items carry the chosen artwork_id (reloaded with the snapshot)
  std::string model_dir;            // --model-dir: a `marquee train` model ranks recommendations and similar titles
                                    // (re-read on reload); empty: the tags model of the catalogue
  bool strict = false;              // a bad input row fails the load
  double max_reject_rate = kDefaultMaxRejectRate;  // a file with a larger share of rows rejected fails the load (--max-reject-rate)
  Backend backend = Backend::Auto;
  ScorerOptions scorer;
  /// CPU sparse path: split the titles into this many ranges searched in parallel (one thread
  /// each); 0 = one per CPU scoring thread, 1 = off. Results are identical either way.
  size_t title_shards = 0;

  // ANN (FAISS) over the title vectors; empty factory: exact search only (the default).
  std::string index_factory;        // e.g. "HNSW32", "IVF4096,Flat", "Flat"
  std::string index_path;           // load from here when it matches the catalogue, else build and save here
  std::string index_params;         // FAISS search-time parameters, e.g. "nprobe=32,efSearch=128"
  size_t index_recall_queries = 1000;
  size_t index_recall_k = 20;

  // Micro-batching and overload.
  size_t max_batch = 64;            // searches per batch
  uint32_t max_wait_us = 200;       // how long the first search of a batch waits for company
  size_t queue_limit = 64;          // queued searches beyond this are refused (Overloaded)
  uint32_t deadline_ms = 100;       // a search still queued after this is dropped (DeadlineExceeded)

  /// Online events kept per user (POST /v1/events): past it a user's further events are rejected
  /// with the reason, so one user (or a client looping) cannot grow the store without bound.
  size_t max_user_events = 20000;

  /// Called by the worker with the batch size before each batch runs (tests use it to hold the
  /// worker; instrumentation may too). Empty: nothing.
  std::function<void(size_t)> on_batch;
};

/// One user as the server keeps it; immutable once published (an update publishes a new one).
struct UserState {
  std::string id;
  std::vector<float> vector;      // dim floats, L2-normalised; zeros when !summary.usable
  std::vector<SeenTitle> seen;    // sorted by title index
  UserSummary summary;
  std::vector<Event> events;      // raw events (user index 0), arrival order: all of them with --events,
                                  // only the online ones with --profiles
  bool from_profiles_file = false;
  std::vector<SeenTitle> file_seen;  // --profiles, once updated online: the file's entries
  UserSummary file_summary;
};

/// Users by id; lookups share a lock, an update swaps one pointer.
class ProfileStore {
 public:
  std::shared_ptr<const UserState> find(std::string_view id) const;
  /// Adds the user, or replaces the state of the user with the same id. Returns true when new.
  bool put(std::shared_ptr<const UserState> user);
  size_t size() const;
  /// Up to `count` users spread evenly over the store (load order), for measurements.
  std::vector<std::shared_ptr<const UserState>> sample(size_t count) const;

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, uint32_t> index_;
  std::vector<std::shared_ptr<const UserState>> users_;
};

/// The vector space a search runs in. Without a model all three are the catalogue's tag space.
enum class SearchSpace {
  Ranking,     // recommendations: the model's title side (user vectors folded in by the model)
  Tags,        // POST /v1/query: tag vectors and tag sets
  Similarity,  // titles like a title: the model's similarity vectors
};

/// Everything a search needs, loaded together and replaced together.
struct Snapshot {
  uint64_t generation = 0;
  Catalog catalog;
  TitleMatrix titles;                // the catalogue's tag vectors (profiles, explanations, /v1/query)
  std::unique_ptr<Model> model;      // --model-dir; null: recommendations rank in the tag space
  std::string model_family = "tags";
  std::string model_version;         // the model folder's version; without one "tags-<catalogue fingerprint>"
  std::unique_ptr<Scorer> tag_scorer;      // with a model: exact search in the tag space
  std::unique_ptr<Scorer> similar_scorer;  // with a model: exact search over its similarity vectors
  std::unique_ptr<Artwork> artwork;  // null without --artwork
  std::unique_ptr<DaypartModel> daypart;   // null without --daypart
  std::unique_ptr<Scorer> daypart_scorer;  // titles + 24 hour columns (with_daypart_columns); ?hour= searches
  std::unique_ptr<Scorer> scorer;   // exact search in the ranking space (the tag space without a model)
  std::string scorer_reason;
  bool on_gpu = false;
  std::unique_ptr<AnnIndex> index;  // null without --index
  ProfileStore users;
  bool from_events = false;         // profiles built from raw events (online updates are exact)
  EngagementOptions engagement;     // as_of frozen at load, so that online rebuilds match the load
  double load_seconds = 0;
  std::string source;               // "events FILE" | "profiles FILE", for the log and /readyz

  /// A search in `space` runs here; without a model every space is the ranking space.
  SearchSpace resolve(SearchSpace space) const { return model ? space : SearchSpace::Ranking; }
  const TitleMatrix& space_titles(SearchSpace space) const;
  Scorer& space_scorer(SearchSpace space) const;
  /// The user's side of the ranking inner product: the model's fold-in of their engagement (their
  /// tag vector without a model), exactly as `marquee score --model-dir` computes it.
  std::vector<float> ranking_vector(const UserState& user) const;
};

struct SearchQuery {
  std::shared_ptr<const Snapshot> snapshot;  // the one the vector and exclusions were taken from
  SearchSpace space = SearchSpace::Ranking;
  std::vector<float> vector;                 // snapshot->space_titles(space).dim() floats
  std::vector<uint32_t> exclude;             // title indices never returned, sorted ascending, unique
  size_t k = 20;                             // 1 .. number of titles
  bool exact = false;                        // true: the Scorer even when an index is loaded
  int hour = -1;                             // 0..23: re-rank by the snapshot's daypart model (exact search)
};

enum class SearchStatus { Ok, Overloaded, DeadlineExceeded, ShuttingDown, Failed };

struct SearchOutcome {
  SearchStatus status = SearchStatus::Ok;
  std::string message;              // why, when not Ok
  std::vector<ScoredTitle> items;   // best first
  bool used_index = false;
  size_t batch_size = 0;
  double queued_seconds = 0;
};

/// An event as a client sends it: the fields of events.csv (docs/formats.md) as text.
struct RawEvent {
  std::string ts, user_id, title_id, event, position_s;
  std::optional<std::string> seek_to_s;
};

struct IngestReport {
  size_t accepted = 0;
  std::vector<std::pair<size_t, std::string>> rejected;  // (index in the request, reason)
  size_t users_updated = 0;
  size_t users_added = 0;
};

struct ReloadReport {
  uint64_t generation = 0;
  double seconds = 0;
  size_t users = 0, titles = 0;
  size_t replayed_events = 0;   // online events re-applied to the new profiles
  size_t dropped_events = 0;    // online events whose title left the catalogue
  std::string model_version;
};

class ServingEngine {
 public:
  /// Loads generation 1 (throws ArgumentError/InputError/BackendError as the CLI jobs do) and starts
  /// the batch worker.
  explicit ServingEngine(EngineOptions options);
  ~ServingEngine();
  ServingEngine(const ServingEngine&) = delete;
  ServingEngine& operator=(const ServingEngine&) = delete;

  std::shared_ptr<const Snapshot> snapshot() const;

  /// Queues a search. Never blocks: a full queue or a stopped engine answers at once (Overloaded,
  /// ShuttingDown). Throws ArgumentError for a malformed query (K, dimension, exclusions).
  std::future<SearchOutcome> submit(SearchQuery query);
  SearchOutcome search(SearchQuery query) { return submit(std::move(query)).get(); }

  /// Validates and applies new playback events; each touched user's profile is rebuilt and
  /// published before this returns. Bad events are rejected with their index and reason (the
  /// rules of docs/formats.md); exact duplicates of known events are rejected as duplicates.
  /// With --profiles (no raw events in memory) a title's file weight is replaced by the weight of
  /// its online events; other titles keep the file's weights.
  IngestReport ingest(const std::vector<RawEvent>& events);

  /// Loads a new snapshot from the same inputs (files re-read, index re-built or re-loaded),
  /// re-applies the events ingested online since start, and swaps it in. Searches in flight finish
  /// on the old snapshot. Concurrent reloads run one after the other. On failure the old snapshot
  /// stays and the error is thrown.
  /// `model_dir`: switch to this model folder (kept for later reloads once the load succeeded).
  ReloadReport reload(const std::optional<std::string>& model_dir = std::nullopt);

  /// Stops taking searches, runs the ones already queued, joins the worker. Idempotent.
  void stop();

  size_t queue_depth() const { return queue_depth_.load(); }
  const EngineOptions& options() const { return options_; }
  Metrics& metrics() { return metrics_; }
  /// Refreshes the gauges (queue depth, users, device memory) and renders /metrics.
  std::string render_metrics();

 private:
  struct Job {
    SearchQuery query;
    Clock::time_point enqueued, deadline;
    std::promise<SearchOutcome> done;
  };
  struct JournalEntry {
    std::string user_id, title_id;
    Event event;
  };

  std::shared_ptr<Snapshot> load_snapshot(uint64_t generation, const std::string& model_dir);
  void apply_events(Snapshot& snap, const std::vector<JournalEntry>& entries, IngestReport* report);
  void worker_loop();
  void run_batch(std::vector<std::unique_ptr<Job>>& batch);

  EngineOptions options_;
  Metrics metrics_;

  mutable std::mutex snapshot_mu_;
  std::shared_ptr<Snapshot> snapshot_;
  std::mutex reload_mu_;   // one reload at a time
  std::mutex ingest_mu_;   // events and the final step of a reload
  std::vector<JournalEntry> journal_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<std::unique_ptr<Job>> queue_;
  std::atomic<size_t> queue_depth_{0};
  bool stopping_ = false;
  std::thread worker_;
};

const char* search_status_name(SearchStatus status);

}  // namespace marquee::server
