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
};

/// `families` from a flag: "auto" (empty) or one family name.
std::vector<ModelKind> parse_model_families(const std::string& text);

struct TrainedModel {
  std::unique_ptr<Model> model;
  SearchResult search;
  nlohmann::json record;  // "validation" and "training" sections of the manifest
};

/// Searches on `train` (every user's profile without their held-out titles; `heldout[u]` those
/// titles), then refits the best model on `all`. Prints progress lines and the validation table to
/// `table_to` (may be null).
TrainedModel train_model(const TitleMatrix& tags, const UserProfiles& train,
                         const std::vector<std::vector<uint32_t>>& heldout, const UserProfiles& all,
                         const TrainOptions& options, std::FILE* table_to = stdout);

/// The validation split and full profiles of a job's input: events are split by time (each user's
/// last `holdout` titles), a profiles file by a hash of (seed, user, title).
struct TrainingData {
  UserProfiles train, all;
  std::vector<std::vector<uint32_t>> heldout;
  nlohmann::json info;  // input, counts, cut-off: the manifest's "training" section
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
