#include "host/jobs/profile_job.h"

#include "engine/clock.h"
#include "engine/error.h"
#include "host/io/profile_io.h"
#include "host/jobs/spilled_profiles.h"

#include <filesystem>

#include <spdlog/spdlog.h>

namespace marquee {

ProfileJobSummary run_profile_job(const ProfileJobOptions& o) {
  const auto t0 = Clock::now();
  MARQUEE_CHECK_ARG(!o.input.events_path.empty(), "profile needs --events FILE");
  MARQUEE_CHECK_ARG(!o.out_path.empty(), "profile needs --out FILE");
  RejectLog rejects = job_rejects(o.common, o.out_path);
  Workspace ws = open_catalog(o.input.catalog_dir, rejects, o.input.layout.catalog_delimiter);
  ProfileJobSummary s;
  const size_t budget = o.input.memory_budget;
  if (budget > 0 && estimate_in_memory_bytes(o.input.events_path, ws.titles.dim()) > budget) {
    // Within the budget: external partitioning, the same bytes as the in-memory build (docs/scale.md).
    spdlog::info("{}: building profiles in memory would need ~{:.0f} MB, more than --memory-budget {:.0f} MB: "
                 "partitioning the events on disk (on the CPU)", o.input.events_path,
                 estimate_in_memory_bytes(o.input.events_path, ws.titles.dim()) / 1e6, budget / 1e6);
    const std::string spill_dir = !o.input.spill_dir.empty() ? o.input.spill_dir
                                  : std::filesystem::path(o.out_path).has_parent_path()
                                      ? std::filesystem::path(o.out_path).parent_path().string()
                                      : std::string(".");
    const SpillStats st = build_profiles_spilled(ws.catalog, ws.titles, o.input.events_path, o.input.engagement,
                                                 rejects, o.out_path, budget, spill_dir,
                                                 o.input.layout.events);
    s.users = st.users;
    s.event_rows = st.rows;
    s.unusable_users = st.build.unusable_users;
    s.partitions = st.partitions;
    s.spill_bytes = st.spill_bytes;
  } else {
    ProfileBuildStats stats;
    const UserProfiles p = build_profiles_from_file(ws.catalog, ws.titles, o.input.events_path, o.input.engagement,
                                                    rejects, &s.event_rows, &stats, o.input.profile_backend,
                                                    o.input.profile_device, o.input.layout.events);
    write_profiles(o.out_path, p, ws.catalog.num_titles(), ws.catalog.fingerprint());
    s.users = p.size();
    s.unusable_users = stats.unusable_users;
  }
  rejects.finish();
  s.rejected = rejects.count();
  s.seconds = seconds_since(t0);
  spdlog::info("profile: {} users ({} without usable signal) from {} event rows in {:.1f} s -> {}", s.users,
               s.unusable_users, s.event_rows, s.seconds, o.out_path);
  spdlog::info("{}", rejects.summary());
  return s;
}

}  // namespace marquee
