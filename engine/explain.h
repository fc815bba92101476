// Explanations: why a title scores what it scores for a user. The score is an inner product in tag
// space, so it splits exactly into per-tag contributions; "because you watched" lists the user's
// positively engaged titles most similar to the recommended one.
#pragma once

#include "engine/profiles.h"
#include "engine/model.h"
#include "engine/title_matrix.h"

#include <vector>

namespace marquee {

struct TagContribution {
  uint32_t tag = 0;
  float contribution = 0;  // user[tag] * title[tag]; all contributions sum to the score
};

struct BecauseWatched {
  uint32_t title = 0;
  float similarity = 0;  // cosine between the watched title and the explained one
  float weight = 0;      // the user's engagement weight for the watched title
};

struct Explanation {
  float score = 0;
  std::vector<TagContribution> tags;      // largest positive contributions first
  std::vector<BecauseWatched> because;    // most similar watched titles first
};

/// Explains `title` for the user whose vector is `user_vector` (titles.dim() floats) and who has
/// seen [seen_begin, seen_end). Ties break by lower index.
Explanation explain(const TitleMatrix& titles, const float* user_vector, const SeenTitle* seen_begin,
                    const SeenTitle* seen_end, uint32_t title, size_t top_tags = 5, size_t top_titles = 3);

/// How a model ranks `title` for the one user of `user` (a one-user batch): the model's score, the
/// title's rank among the titles the user has not watched (1 = first; ties to the lower index, as
/// every scorer breaks them), and the watched titles most like it in the model's similarity space.
struct ModelExplanation {
  float score = 0;
  size_t rank = 0;        // 1-based
  size_t candidates = 0;  // titles ranked: the unwatched ones, plus `title` itself
  std::vector<BecauseWatched> because;
};
ModelExplanation explain_model(const Model& model, const UserProfiles& user, uint32_t title, size_t top_titles = 3);

}  // namespace marquee
