// Exact CPU search split over title ranges, for the small batches a front service runs.
//
// The CPU scorer's sparse path costs the same for 1 user as for 32 (a block of 32 lanes walks every
// title), and parallelises over blocks of users: a batch of a few users runs on one core. Splitting
// the *titles* into one range per core and running one single-threaded CPU scorer per range puts
// every core on the same small batch. Each range's scorer is the engine's own (built by
// choose_scorer over TitleMatrix::from_rows of the range, so every title's score is computed from
// the same values in the same order); the per-range top-K lists are merged under the engine's total
// order (higher score, then lower title index), so the result is exactly the unsharded one.
#pragma once

#include "engine/backend.h"
#include "engine/scorer.h"
#include "host/backend/resolver.h"

#include <memory>

namespace marquee::server {

/// A Scorer over `titles` that runs `shards` single-threaded CPU scorers in parallel, one per title
/// range. `cpu.path` Auto is resolved on the whole matrix first, so every range takes the same path.
std::unique_ptr<Scorer> make_sharded_cpu_scorer(const TitleMatrix& titles, size_t shards, CpuScorerOptions cpu);

}  // namespace marquee::server
