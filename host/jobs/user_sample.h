// Fitting and evaluating within `--memory-budget` (docs/scale.md): `train`, `eval-recs` and the fits
// of `score` hold every user's interactions and a held-out split in memory. When those do not fit the
// budget, the job runs on a deterministic sample of users, chosen by the same 64-bit user hash as the
// spill files (spilled_profiles.h): a user is in the sample when their hash is below a limit, so a
// smaller sample is always a subset of a larger one, and the same users are chosen on every run and
// machine. Models keep title-side state only (engine/model.h): the users left out are still scored
// (folded in) by the model; what the sample costs is the fit's view of them, and the evaluation's.
//
// The sample starts at every user (or at --sample-users) and is halved, while the events are read,
// whenever the users held so far would need more than the budget left after the fixed costs (the
// catalogue and the model's title-side matrices): memory stays bounded whatever the file holds, and
// on data that fits nothing is dropped and the job is exactly the in-memory one.
#pragma once

#include "engine/catalog.h"
#include "engine/profiles.h"
#include "host/io/events_io.h"
#include "host/io/record_reader.h"
#include "host/io/rejects.h"
#include "host/jobs/workspace.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace marquee {

/// Which users a sample holds: those whose user_hash(id, 0) is below `limit` (every user when `all`).
struct UserSample {
  bool all = true;
  uint64_t limit = 0;

  /// The sample holding about `fraction` (0, 1] of users (1: every user).
  static UserSample of_fraction(double fraction);
  bool contains(uint64_t hash) const { return all || hash < limit; }
  bool contains(const std::string& user_id) const;
  double fraction() const;
  UserSample halved() const;
};

/// What a job holds in memory while it fits and evaluates, in bytes: per event read, per user, and
/// fixed (the catalogue, the title-side matrices of the models). Measured (docs/benchmarks.md,
/// "train and eval-recs within a budget") and rounded up.
struct MemoryCosts {
  double per_event = 0;
  double per_user = 0;
  double fixed = 0;
  double bytes(double events, double users) const { return fixed + per_event * events + per_user * users; }
};

/// How a job's users were sampled: for the log, the model manifest and the eval report.
struct SampleReport {
  bool sampled = false;          // false: every user (the in-memory job)
  double fraction = 1;           // the hash limit's share of the 64-bit range
  size_t users = 0;              // users in the sample
  size_t users_total = 0;        // users in the input: exact when not sampled, else estimated
  bool users_total_estimated = false;
  size_t events = 0;             // accepted events (events file) or seen titles (profiles) of the sample
  size_t memory_budget = 0;      // 0: no budget
  double needed_bytes = 0;       // what the whole input would need in memory (estimated; 0: fits)
  std::string why;               // "--memory-budget", "--sample-users", or both

  nlohmann::json to_json() const;
  /// "sampled 25,123 of ~100,000 users (1/4, by user hash) to fit --memory-budget 512 MB".
  std::string describe() const;
};

/// The budget's plan for a job: what it may hold besides the fixed costs, and the starting sample.
struct SamplePlan {
  size_t memory_budget = 0;  // 0: no budget (everything held, as without --memory-budget)
  double sample_users = 1;   // --sample-users: the starting fraction (the budget may lower it)
  MemoryCosts costs;
};

/// The events of the users of a sample, as load_events would return them for a file holding only
/// those users' rows (users numbered by first appearance, rows and rejects of the whole file), with
/// the sample halved while reading whenever plan.costs of the events and users held pass the budget.
struct SampledEvents {
  LoadedEvents loaded;
  SampleReport report;
};
SampledEvents load_sampled_events(const std::string& path, const Catalog& catalog, RejectLog& rejects, int64_t as_of,
                                  const TableLayout& layout, const SamplePlan& plan);

/// Whether `plan` can hold the file in memory: then load_events (parallel parsing) reads it, and the
/// job is exactly the one without a budget. Estimated from the file's size as spilled_profiles does
/// (an event per 40 bytes of file, generous).
bool events_fit(const std::string& path, const SamplePlan& plan);

/// Every user of `source` in the sample (read batch by batch): `plan` sizes the sample exactly from
/// the number of users and seen titles (a profiles file knows them), without reading twice.
UserProfiles read_sampled_profiles(ProfileSource& source, size_t seen_total, const SamplePlan& plan,
                                   SampleReport& report);

}  // namespace marquee
