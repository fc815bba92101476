#include "host/jobs/workspace.h"

#include "engine/error.h"
#include "host/io/catalog_io.h"
#include "host/io/events_io.h"
#include "host/cuda/entry_points.h"
#include "host/backend/resolver.h"
#include "host/io/atomic_file.h"
#include "host/jobs/spilled_profiles.h"

#include <unistd.h>

#include <filesystem>

#include <spdlog/spdlog.h>

namespace marquee {
namespace {

class FileProfiles final : public ProfileSource {
 public:
  explicit FileProfiles(const std::string& path) : reader_(path) {}
  ProfileReader& reader() { return reader_; }
  size_t users() const override { return reader_.users(); }
  uint64_t seen_total() const override { return reader_.info().seen_total; }
  UserProfiles read(size_t first, size_t count) override { return reader_.read(first, count); }
  std::optional<size_t> find_user(const std::string& id) override { return reader_.find_user(id); }

 private:
  ProfileReader reader_;
};

}  // namespace

UserProfiles MemoryProfiles::read(size_t first, size_t count) { return slice_profiles(p_, first, count); }

std::optional<size_t> MemoryProfiles::find_user(const std::string& id) {
  for (size_t u = 0; u < p_.size(); ++u)
    if (p_.user_ids[u] == id) return u;
  return std::nullopt;
}

UserProfiles slice_profiles(const UserProfiles& all, size_t first, size_t count) {
  MARQUEE_CHECK_ARG(first <= all.size() && count <= all.size() - first, "users [{}, {}) outside the {} profiles",
                    first, first + count, all.size());
  UserProfiles p;
  p.dim = all.dim;
  p.user_ids.assign(all.user_ids.begin() + first, all.user_ids.begin() + first + count);
  p.vectors.assign(all.vectors.begin() + first * all.dim, all.vectors.begin() + (first + count) * all.dim);
  const uint64_t s0 = all.seen_offsets[first];
  p.seen.assign(all.seen.begin() + s0, all.seen.begin() + all.seen_offsets[first + count]);
  p.seen_offsets.resize(count + 1);
  for (size_t i = 0; i <= count; ++i) p.seen_offsets[i] = all.seen_offsets[first + i] - s0;
  p.summaries.assign(all.summaries.begin() + first, all.summaries.begin() + first + count);
  return p;
}

Workspace open_catalog(const std::string& catalog_dir, RejectLog& rejects, char delimiter) {
  Workspace ws;
  ws.catalog = load_catalog(catalog_dir, rejects, delimiter);
  ws.titles = TitleMatrix::build(ws.catalog);
  if (!ws.titles.untagged_titles().empty())
    spdlog::warn("{} titles have no usable tags and will score 0 for everyone (first: {})",
                 ws.titles.untagged_titles().size(), ws.catalog.title(ws.titles.untagged_titles()[0]).id);
  return ws;
}

UserProfiles build_profiles_from_file(const Catalog& catalog, const TitleMatrix& titles, const std::string& events_path,
                                      const EngagementOptions& engagement, RejectLog& rejects, size_t* rows,
                                      ProfileBuildStats* stats, Backend backend, int device,
                                      const TableLayout& layout) {
  LoadedEvents loaded = load_events(events_path, catalog, rejects, engagement.as_of, layout);
  if (rows) *rows = loaded.rows;
  ProfileBuildStats local;
  // Chosen once, here: the GPU twin when asked for, or with auto when a device is present.
  const bool gpu = resolve_backend(backend, Capability::Profiles).on_gpu();
  UserProfiles p = gpu ? cuda::build_profiles(catalog, titles, std::move(loaded.events), std::move(loaded.user_ids),
                                              engagement, &local, device)
                       : build_profiles(catalog, titles, std::move(loaded.events), std::move(loaded.user_ids),
                                        engagement, &local);
  spdlog::info("profiles built on the {}", gpu ? "GPU" : "CPU");
  reject_duplicates(events_path, local.duplicates, rejects);
  spdlog::info("profiles: {} users from {} events ({} with no usable signal)", p.size(), local.events_used,
               local.unusable_users);
  if (stats) *stats = std::move(local);
  return p;
}

Workspace open_workspace(const InputOptions& options, RejectLog& rejects) {
  MARQUEE_CHECK_ARG(options.events_path.empty() != options.profiles_path.empty(),
                    "give exactly one of --events FILE or --profiles FILE");
  Workspace ws = open_catalog(options.catalog_dir, rejects, options.layout.catalog_delimiter);
  open_profiles(ws, options, rejects);
  return ws;
}

void open_profiles(Workspace& ws, const InputOptions& options, RejectLog& rejects) {
  MARQUEE_CHECK_ARG(options.events_path.empty() != options.profiles_path.empty(),
                    "give exactly one of --events FILE or --profiles FILE");
  std::string profiles_path = options.profiles_path;
  if (!options.events_path.empty() && options.memory_budget > 0) {
    const size_t need = estimate_in_memory_bytes(options.events_path, ws.titles.dim());
    if (need > options.memory_budget) {
      spdlog::info("{}: building profiles in memory would need ~{:.0f} MB, more than --memory-budget {:.0f} MB: "
                   "partitioning the events on disk (on the CPU)",
                   options.events_path, need / 1e6, options.memory_budget / 1e6);
      const std::string base = (std::filesystem::path(options.spill_dir.empty() ? "." : options.spill_dir) /
                                "marquee-profiles").string();
      remove_stale_temps(base);
      const std::string dir = base + ".tmp." + std::to_string(::getpid());
      std::filesystem::create_directories(dir);
      ws.scratch = std::shared_ptr<const std::string>(new std::string(dir), [](const std::string* d) {
        std::error_code ec;
        std::filesystem::remove_all(*d, ec);
        delete d;
      });
      profiles_path = dir + "/profiles.bin";
      const SpillStats st = build_profiles_spilled(ws.catalog, ws.titles, options.events_path, options.engagement,
                                                   rejects, profiles_path, options.memory_budget, options.spill_dir,
                                                   options.layout.events);
      ws.event_rows = st.rows;
      ws.build_stats = st.build;
      ws.spilled = true;
    }
  }
  if (!ws.spilled && !options.events_path.empty()) {
    ws.profiles = std::make_unique<MemoryProfiles>(build_profiles_from_file(ws.catalog, ws.titles, options.events_path,
                                                                            options.engagement, rejects, &ws.event_rows,
                                                                            &ws.build_stats, options.profile_backend,
                                                                            options.profile_device, options.layout.events));
  } else {
    auto file = std::make_unique<FileProfiles>(profiles_path);
    file->reader().check_catalog(ws.catalog.fingerprint(), ws.catalog.num_titles(), ws.titles.dim());
    spdlog::info("profiles {}: {} users", profiles_path, file->users());
    ws.profiles = std::move(file);
  }
}

}  // namespace marquee
