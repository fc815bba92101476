// User profiles: a behaviour vector per user in tag space plus what they have seen (for exclusion
// and explanations) and a small engagement summary. Built from events with the EngagementModel.
#pragma once

#include "engine/catalog.h"
#include "engine/engagement.h"
#include "engine/events.h"
#include "engine/title_matrix.h"

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace marquee {

/// A title a user has events for, with its engagement weight (after recency decay).
struct SeenTitle {
  uint32_t title = 0;
  float weight = 0;
  uint8_t completed = 0;
  uint8_t reserved[3]{};  // explicit padding: profiles files are byte-for-byte deterministic
};

struct UserSummary {
  uint32_t events = 0;
  uint32_t titles = 0;
  uint32_t completed = 0;
  uint32_t abandoned = 0;
  float watched_s = 0;
  std::array<uint32_t, 24> daypart{};  // session starts per local hour
  uint8_t usable = 0;                  // 0: no usable signal, the vector is all zeros
  uint8_t reserved[3]{};
};

/// A contiguous run of user profiles (all users, or one batch read from a profiles file).
struct UserProfiles {
  size_t dim = 0;
  std::vector<std::string> user_ids;
  std::vector<float> vectors;          // user_ids.size() x dim, row-major, L2-normalised
  std::vector<uint64_t> seen_offsets;  // user_ids.size() + 1
  std::vector<SeenTitle> seen;         // per user, sorted by title index
  std::vector<UserSummary> summaries;

  size_t size() const { return user_ids.size(); }
  const float* vector(size_t u) const { return vectors.data() + u * dim; }
  const SeenTitle* seen_begin(size_t u) const { return seen.data() + seen_offsets[u]; }
  const SeenTitle* seen_end(size_t u) const { return seen.data() + seen_offsets[u + 1]; }
};

struct ProfileBuildStats {
  size_t events_used = 0;
  std::vector<std::pair<uint32_t, uint32_t>> duplicates;  // dropped exact duplicates: (line, line of the kept twin)
  size_t unusable_users = 0;              // users with no usable signal
  int64_t as_of = 0;                      // recency reference actually used
};

/// The users `which` of `p` (indices into p), in that order.
UserProfiles select_users(const UserProfiles& p, const std::vector<size_t>& which);

/// Whether build_profiles keeps each user's tag vector. A model's fit reads interactions only (the
/// seen titles and weights; engine/model.h), so profiles built to fit on may leave them out: dim 0
/// and no vectors, 4 x tags bytes less per user; everything else (summaries included) unchanged.
enum class ProfileVectors { Tags, None };

/// Builds profiles for users [0, user_ids.size()) from `events` (any order; sorted here by
/// user, title, ts). Exact duplicates (same user, title, ts, type, positions) are dropped and
/// reported. The user vector is the engagement-weighted sum of the title vectors, L2-normalised.
UserProfiles build_profiles(const Catalog& catalog, const TitleMatrix& titles, std::vector<Event> events,
                            std::vector<std::string> user_ids, const EngagementOptions& options,
                            ProfileBuildStats* stats = nullptr, ProfileVectors vectors = ProfileVectors::Tags);

}  // namespace marquee
