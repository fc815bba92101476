#include "host/jobs/profile_job.h"

#include "engine/clock.h"
#include "engine/error.h"
#include "host/io/profile_io.h"

#include <spdlog/spdlog.h>

namespace marquee {

ProfileJobSummary run_profile_job(const ProfileJobOptions& o) {
  const auto t0 = Clock::now();
  MARQUEE_CHECK_ARG(!o.input.events_path.empty(), "profile needs --events FILE");
  MARQUEE_CHECK_ARG(!o.out_path.empty(), "profile needs --out FILE");
  RejectLog rejects = job_rejects(o.common, o.out_path);
  Workspace ws = open_catalog(o.input.catalog_dir, rejects, o.input.layout.catalog_delimiter);
  ProfileJobSummary s;
  ProfileBuildStats stats;
  const UserProfiles p = build_profiles_from_file(ws.catalog, ws.titles, o.input.events_path, o.input.engagement,
                                                  rejects, &s.event_rows, &stats, o.input.profile_backend,
                                                  o.input.profile_device, o.input.layout.events);
  write_profiles(o.out_path, p, ws.catalog.num_titles(), ws.catalog.fingerprint());
  rejects.finish();
  s.users = p.size();
  s.unusable_users = stats.unusable_users;
  s.rejected = rejects.count();
  s.seconds = seconds_since(t0);
  spdlog::info("profile: {} users ({} without usable signal) from {} event rows in {:.1f} s -> {}", s.users,
               s.unusable_users, s.event_rows, s.seconds, o.out_path);
  spdlog::info("{}", rejects.summary());
  return s;
}

}  // namespace marquee
