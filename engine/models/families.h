// Constructors of the model families that live in their own files (engine/model.h is the interface).
#pragma once

#include "engine/model.h"

#include <memory>

namespace marquee {

/// behaviour or hybrid (engine/models/als_model.cpp).
std::unique_ptr<Model> make_als_model(ModelKind kind, const ModelParams& params);
/// EASE^R (engine/models/ease_model.cpp).
std::unique_ptr<Model> make_ease_model(const ModelParams& params);

}  // namespace marquee
