// The model folder (docs/models.md): what `marquee train` writes and every command loads.
//
//   MODEL_DIR/manifest.json   format version, family, hyperparameters, validation table, catalogue
//                             fingerprint, training counts and cut-off, created time, sha256 and
//                             size of every file, and the model version (a hash of the arrays)
//   MODEL_DIR/<array>.npy     little-endian float32 arrays (numpy reads and memory-maps them)
//   MODEL_DIR/title_ids.npy, tag_ids.npy   the index -> id maps, fixed-width bytes
//
// The folder is written beside its final name and renamed into place, so a reader never sees half
// a model. Loading checks the format version, the catalogue fingerprint, each file's size and
// sha256, and the arrays' shapes and values, and refuses anything else with an InputError.
#pragma once

#include "engine/catalog.h"
#include "engine/model.h"
#include "engine/title_matrix.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace marquee {

constexpr int kModelFormatVersion = 1;

/// What a saved model records besides its arrays; `extra` is merged into the manifest
/// (e.g. "validation", "training").
struct ModelRecord {
  nlohmann::json extra = nlohmann::json::object();
};

/// Writes `model` (fitted against `catalog`) to `dir` atomically; returns the manifest written.
nlohmann::json save_model_dir(const std::string& dir, const Model& model, const Catalog& catalog,
                              const ModelRecord& record = {});

struct LoadedModel {
  std::unique_ptr<Model> model;
  nlohmann::json manifest;
  std::string version;  // "<family>-<first 12 hex digits of the arrays' hash>"
};

/// Loads a model folder against `catalog` (whose tag vectors are `tags`). Throws InputError for a
/// missing or unreadable folder, a newer format, another catalogue, a size or checksum mismatch, a
/// truncated or corrupt array, or a non-finite value.
LoadedModel load_model_dir(const std::string& dir, const Catalog& catalog, const TitleMatrix& tags);

/// ModelParams as JSON and back (unknown keys are ignored; missing ones keep their defaults).
nlohmann::json model_params_json(const ModelParams& params);
ModelParams model_params_from_json(const nlohmann::json& j);

/// Hex SHA-256 of `bytes` (OpenSSL).
std::string sha256_hex(const std::string& bytes);

}  // namespace marquee
