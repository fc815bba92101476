// `marquee score`: the nightly job, top-K per user for every user, streamed batch by batch.
#pragma once

#include "engine/backend.h"
#include "engine/recommender.h"
#include "engine/scorer.h"
#include "host/jobs/common.h"
#include "host/jobs/workspace.h"
#include "host/io/output_dir.h"

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace marquee {

struct ScoreJobOptions {
  InputOptions input;
  std::string out_path;             // a file, or a directory of parts: "DIR/" or an existing folder
  std::string format = "auto";
  size_t partitions = 0;            // directory output: number of parts (0: one per kUsersPerPart users)
  long only_part = -1;              // directory output: write this part only, no manifest (a Dask task)
  size_t k = 10;
  ExcludePolicy exclude = ExcludePolicy::Watched;
  Backend backend = Backend::Auto;
  ScorerOptions scorer;
  size_t batch = 16384;             // users per batch
  size_t max_result_bytes = 1u << 30;  // caps batch so that batch * k results fit
  size_t show = 0;                  // print this many users' recommendations with explanations
  // The model: --model-dir (trained by `marquee train`), else with auto_model the search of
  // `marquee train` in memory (time_budget_s), else `model` fitted with als/weights/ease_lambda.
  std::string model_dir;
  bool auto_model = false;          // the CLI's default (--model auto)
  double time_budget_s = 60;
  ModelKind model = ModelKind::Tags;
  AlsOptions als;                   // behaviour and hybrid models
  HybridWeights weights;            // hybrid model
  float ease_lambda = 200;          // ease model
  double sample_users = 1;          // --sample-users: fit (auto, behaviour, hybrid, ease) on this share of users
  double progress_seconds = 2.0;    // progress line interval
  std::string artwork_path;         // --artwork: choose each row's artwork variant (docs/artwork.md)
  std::string daypart_path;         // daypart model (`marquee daypart`), applied at `hour`
  int hour = -1;                    // 0..23: re-rank for this local hour; -1: no daypart term
  CommonOptions common;
};

/// Directory output without --partitions: a part per this many users (~10M rows at k = 10).
constexpr size_t kUsersPerPart = 1'000'000;

struct ScoreJobSummary {
  size_t users = 0, scored = 0, unscored = 0, rows = 0, rejected = 0;
  size_t parts = 0, parts_skipped = 0;  // directory output: parts in all, parts kept from an earlier run
  std::vector<PartRecord> part_records; // directory output: the parts written or kept by this run
  size_t artwork_default = 0;       // --artwork: rows whose title has no variants (default artwork)
  std::string backend;
  std::string model;                // the model's family (and version, when loaded from a folder)
  double seconds = 0;
};

/// The nightly job: top-K per user, excluding seen titles, streamed batch by batch. Users with no
/// usable signal are listed in "<out>.unscored.csv". With a directory --out: part files, resumable
/// (host/io/output_dir.h, docs/scale.md).
ScoreJobSummary run_score_job(const ScoreJobOptions& options, std::FILE* show_to = stdout);

}  // namespace marquee
