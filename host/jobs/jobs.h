// The CLI's jobs as plain functions (so tests and tools can run them without a process).
#pragma once

#include "engine/backend.h"
#include "engine/evaluation.h"
#include "engine/recommender.h"
#include "engine/scorer.h"
#include "host/io/results_io.h"
#include "host/jobs/workspace.h"

#include <cstdio>
#include <string>

namespace marquee {

struct CommonOptions {
  std::string rejects_path;  // empty: derived from the output path ("<out>.rejects.csv")
  bool strict = false;
};

/// The rejects file of a job: --rejects, or "<out>.rejects.csv".
std::string rejects_path_for(const CommonOptions& common, const std::string& out_path);

struct ProfileJobOptions {
  InputOptions input;  // events_path required
  std::string out_path;
  CommonOptions common;
};

struct ProfileJobSummary {
  size_t users = 0, unusable_users = 0, event_rows = 0, rejected = 0;
  double seconds = 0;
};

ProfileJobSummary run_profile_job(const ProfileJobOptions& options);

struct ScoreJobOptions {
  InputOptions input;
  std::string out_path;
  std::string format = "auto";
  size_t k = 10;
  ExcludePolicy exclude = ExcludePolicy::Watched;
  Backend backend = Backend::Auto;
  ScorerOptions scorer;
  size_t batch = 16384;             // users per batch
  size_t max_result_bytes = 1u << 30;  // caps batch so that batch * k results fit
  size_t show = 0;                  // print this many users' recommendations with explanations
  ModelKind model = ModelKind::Tags;
  AlsOptions als;                   // behaviour and hybrid models
  HybridWeights weights;            // hybrid model
  double progress_seconds = 2.0;    // progress line interval
  std::string artwork_path;         // --artwork: choose each row's artwork variant (docs/artwork.md)
  std::string daypart_path;         // daypart model (`marquee daypart`), applied at `hour`
  int hour = -1;                    // 0..23: re-rank for this local hour; -1: no daypart term
  CommonOptions common;
};

struct ScoreJobSummary {
  size_t users = 0, scored = 0, unscored = 0, rows = 0, rejected = 0;
  size_t artwork_default = 0;       // --artwork: rows whose title has no variants (default artwork)
  std::string backend;
  double seconds = 0;
};

/// The nightly job: top-K per user, excluding seen titles, streamed batch by batch. Users with no
/// usable signal are listed in "<out>.unscored.csv".
ScoreJobSummary run_score_job(const ScoreJobOptions& options, std::FILE* show_to = stdout);

struct EvalRecsOptions {
  std::string catalog_dir, events_path, out_path;  // out_path: JSON report (optional)
  EvalOptions eval;
  CommonOptions common;
};

/// `marquee eval-recs`: held-out next-watch evaluation of popularity, tags, co-watch, behaviour and
/// hybrid; prints the table and writes the JSON report.
EvalReport run_eval_recs_job(const EvalRecsOptions& options, std::FILE* table_to = stdout);

/// Limits shared by the CLI and the server.
constexpr size_t kMaxBatchUsers = 1'000'000;

/// Prints a user's ranked titles with their explanations (used by `score --show` and `explain`).
void print_recommendations(std::FILE* to, const Workspace& ws, const UserProfiles& batch, size_t user,
                           const uint32_t* titles, const float* scores, size_t count);

}  // namespace marquee
