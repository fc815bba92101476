// `marquee train`: tunes every model family on the user's own data (a held-out split of their
// events or profiles), refits the best on everything, and writes the model folder
// (host/io/model_dir.h, docs/models.md). score, serve and the other jobs then rank with it.
#pragma once

#include "engine/backend.h"
#include "engine/engagement.h"
#include "engine/model.h"
#include "engine/model_search.h"
#include "host/io/rejects.h"
#include "host/jobs/common.h"
#include "host/jobs/user_sample.h"
#include "host/jobs/workspace.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace marquee {

struct TrainOptions {
  std::vector<ModelKind> families;  // empty: `auto`, every family
  double time_budget_s = 300;       // hyperparameter search budget
  size_t holdout = 1;               // titles held out per user for validation (the last ones started)
  size_t max_validation_users = 3000;
  ModelParams base;                 // fixed values (seed, threads) and the starting point
  Backend backend = Backend::Auto;  // where ALS trains
  int device = 0;                   // the GPU twin's device (score's --device; train has no flag yet)
  uint64_t seed = 42;               // the profiles-file split's hash seed
  bool quiet = false;               // no table and no progress lines (score's in-memory training logs one line)
  // Bounded memory (docs/scale.md): 0, no budget. Within one, users are sampled by hash when the
  // data does not fit (host/jobs/user_sample.h) and EASE is left out when its titles x titles
  // matrices would take more than half the budget.
  size_t memory_budget = 0;
  double sample_users = 1;          // --sample-users: fit on this share of users at most (by user hash)
  // TrainingData::all from events keeps its tag vectors (the Python package scores with them); the
  // fit does not need them (ProfileVectors::None), so the CLI leaves them out.
  bool keep_profile_vectors = false;
};

/// `families` from a flag: "auto" (empty) or one family name.
std::vector<ModelKind> parse_model_families(const std::string& text);

struct TrainedModel {
  std::unique_ptr<Model> model;
  SearchResult search;
  nlohmann::json record;  // "validation" and "training" sections of the manifest
};

/// What train holds in memory for `tags` (per event read, per user, fixed: the catalogue and the
/// models' title-side matrices, EASE's when `ease`), for sizing a sample (user_sample.h).
MemoryCosts training_costs(const TitleMatrix& tags, const TrainOptions& options, bool ease);
/// What EASE (or a co-watch matrix) holds for `titles`: 36 bytes a pair of titles while it fits and ranks.
double ease_bytes(size_t titles);
/// Whether ease_bytes(titles) fits half of `memory_budget` (0: no budget).
bool ease_fits(size_t titles, size_t memory_budget);

/// Searches on `train` (every user's profile without their held-out titles; `heldout[u]` those
/// titles), then refits the best model on `all`. Prints progress lines and the validation table to
/// `table_to` (may be null).
TrainedModel train_model(const TitleMatrix& tags, const UserProfiles& train,
                         const std::vector<std::vector<uint32_t>>& heldout, const UserProfiles& all,
                         const TrainOptions& options, std::FILE* table_to = stdout);

/// The validation split and full profiles of a job's input: events are split by time (each user's
/// last `holdout` titles), a profiles file by a hash of (seed, user, title).
/// Within a memory budget (or with --sample-users), a deterministic sample of users by hash.
struct TrainingData {
  UserProfiles train, all;
  std::vector<std::vector<uint32_t>> heldout;
  nlohmann::json info;  // input, counts, cut-off: the manifest's "training" section ("sample" when sampled)
  SampleReport sample;
};
TrainingData prepare_training_data(const Workspace& ws, const InputOptions& input, const TrainOptions& options,
                                   RejectLog& rejects);

struct TrainJobOptions {
  InputOptions input;  // events (split by time) or a profiles file (hashed split)
  std::string out_dir;
  TrainOptions train;
  CommonOptions common;
};

/// Runs train_model on the input and writes the model folder; returns its manifest.
nlohmann::json run_train_job(const TrainJobOptions& options, std::FILE* table_to = stdout);

}  // namespace marquee
