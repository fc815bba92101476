// What every job opens first: the catalogue, its title vectors, and the user profiles, either built
// from events in memory or read in batches from a profiles file.
#pragma once

#include "engine/backend.h"
#include "engine/catalog.h"
#include "engine/engagement.h"
#include "engine/profiles.h"
#include "engine/title_matrix.h"
#include "host/io/profile_io.h"
#include "host/io/record_reader.h"
#include "host/io/rejects.h"

#include <memory>
#include <optional>
#include <string>

namespace marquee {

/// Where user profiles come from; read() returns a batch [first, first + count).
class ProfileSource {
 public:
  virtual ~ProfileSource() = default;
  virtual size_t users() const = 0;
  virtual uint64_t seen_total() const = 0;  // seen titles of every user (sizes a sample: user_sample.h)
  virtual UserProfiles read(size_t first, size_t count) = 0;
  virtual std::optional<size_t> find_user(const std::string& user_id) = 0;
};

/// Profiles held in memory (built from events, or read whole).
class MemoryProfiles final : public ProfileSource {
 public:
  explicit MemoryProfiles(UserProfiles p) : p_(std::move(p)) {}
  size_t users() const override { return p_.size(); }
  uint64_t seen_total() const override { return p_.seen.size(); }
  UserProfiles read(size_t first, size_t count) override;
  std::optional<size_t> find_user(const std::string& user_id) override;
  const UserProfiles& all() const { return p_; }

 private:
  UserProfiles p_;
};

/// How the input files of a job are laid out when not as docs/formats.md names them.
struct InputLayout {
  TableLayout events;          // --delimiter, --columns
  char catalog_delimiter = 0;  // --catalog-delimiter (0: by each file's name)
};

struct InputOptions {
  std::string catalog_dir;
  Backend profile_backend = Backend::Cpu;  // where profiles are built from events (auto|cpu|cuda)
  int profile_device = 0;                  // the GPU twin's device (score's --device)
  std::string events_path;    // exactly one of events_path / profiles_path
  std::string profiles_path;
  EngagementOptions engagement;
  // Bounded memory (docs/scale.md): when building from events would need more than memory_budget
  // bytes, the profiles are built by external partitioning (host/jobs/spilled_profiles.h) into a
  // temporary profiles file in spill_dir and read from it in batches. 0: no budget (in memory).
  size_t memory_budget = 0;
  std::string spill_dir;  // empty: the current directory
  InputLayout layout;  // --delimiter, --columns, --catalog-delimiter
};

struct Workspace {
  Catalog catalog;
  TitleMatrix titles;
  std::unique_ptr<ProfileSource> profiles;  // null when only the catalogue was asked for
  size_t event_rows = 0;                    // rows read from the events file (0 with a profiles file)
  ProfileBuildStats build_stats;
  bool spilled = false;                     // profiles built within InputOptions::memory_budget
  std::shared_ptr<const std::string> scratch;  // the spilled profiles' folder, removed with the last copy
};

/// Loads the catalogue and title vectors only; `delimiter` that of its CSV files (0: by the name).
Workspace open_catalog(const std::string& catalog_dir, RejectLog& rejects, char delimiter = 0);

/// Loads the catalogue, then profiles from events (built in memory) or from a profiles file
/// (validated against the catalogue, read lazily in batches).
Workspace open_workspace(const InputOptions& options, RejectLog& rejects);

/// The profiles half of open_workspace, for a workspace whose catalogue is loaded.
void open_profiles(Workspace& ws, const InputOptions& options, RejectLog& rejects);

/// Builds profiles from an events file: loads, reports rejects and duplicates, builds.
UserProfiles build_profiles_from_file(const Catalog& catalog, const TitleMatrix& titles, const std::string& events_path,
                                      const EngagementOptions& engagement, RejectLog& rejects, size_t* rows,
                                      ProfileBuildStats* stats, Backend backend = Backend::Cpu, int device = 0,
                                      const TableLayout& layout = {});

/// Copies users [first, first + count) of in-memory profiles.
UserProfiles slice_profiles(const UserProfiles& all, size_t first, size_t count);

}  // namespace marquee
