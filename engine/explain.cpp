#include "engine/explain.h"

#include "engine/error.h"

#include <algorithm>

namespace marquee {

Explanation explain(const TitleMatrix& titles, const float* user_vector, const SeenTitle* seen_begin,
                    const SeenTitle* seen_end, uint32_t title, size_t top_tags, size_t top_titles) {
  MARQUEE_CHECK_ARG(title < titles.num_titles(), "title index {} outside the catalogue ({} titles)", title,
                    titles.num_titles());
  Explanation ex;
  const float* t = titles.row(title);
  for (uint64_t p = titles.row_ptr()[title]; p < titles.row_ptr()[title + 1]; ++p) {
    const uint32_t tag = titles.col_idx()[p];
    const float c = user_vector[tag] * t[tag];
    ex.score += c;
    if (c > 0) ex.tags.push_back({tag, c});
  }
  std::sort(ex.tags.begin(), ex.tags.end(), [](const TagContribution& a, const TagContribution& b) {
    return a.contribution > b.contribution || (a.contribution == b.contribution && a.tag < b.tag);
  });
  if (ex.tags.size() > top_tags) ex.tags.resize(top_tags);

  for (const SeenTitle* s = seen_begin; s != seen_end; ++s) {
    if (s->weight <= 0 || s->title == title) continue;
    const float* w = titles.row(s->title);
    float sim = 0;
    for (uint64_t p = titles.row_ptr()[title]; p < titles.row_ptr()[title + 1]; ++p) {
      const uint32_t tag = titles.col_idx()[p];
      sim += w[tag] * t[tag];
    }
    if (sim > 0) ex.because.push_back({s->title, sim, s->weight});
  }
  std::sort(ex.because.begin(), ex.because.end(), [](const BecauseWatched& a, const BecauseWatched& b) {
    return a.similarity > b.similarity || (a.similarity == b.similarity && a.title < b.title);
  });
  if (ex.because.size() > top_titles) ex.because.resize(top_titles);
  return ex;
}

namespace {
float dot_rows(const TitleMatrix& m, uint32_t a, const float* b) {
  const float* r = m.row(a);
  float s = 0;
  for (size_t j = 0; j < m.dim(); ++j) s += r[j] * b[j];
  return s;
}
}  // namespace

ModelExplanation explain_model(const Model& model, const UserProfiles& user, uint32_t title, size_t top_titles) {
  const TitleMatrix& titles = model.titles();
  MARQUEE_CHECK_ARG(user.size() == 1, "explain_model takes one user; got {}", user.size());
  MARQUEE_CHECK_ARG(title < titles.num_titles(), "title index {} outside the catalogue ({} titles)", title,
                    titles.num_titles());
  const std::vector<float> v = model.user_vectors(user);
  std::vector<uint8_t> seen(titles.num_titles(), 0);
  for (const SeenTitle* s = user.seen_begin(0); s != user.seen_end(0); ++s) seen[s->title] = 1;
  ModelExplanation ex;
  ex.score = dot_rows(titles, title, v.data());
  ex.rank = 1;
  for (uint32_t t = 0; t < titles.num_titles(); ++t) {
    if (t == title || seen[t]) continue;
    ++ex.candidates;
    const float s = dot_rows(titles, t, v.data());
    if (s > ex.score || (s == ex.score && t < title)) ++ex.rank;
  }
  ++ex.candidates;  // the title itself
  const TitleMatrix& sim = model.similarity_titles();
  for (const SeenTitle* s = user.seen_begin(0); s != user.seen_end(0); ++s) {
    if (s->weight <= 0 || s->title == title) continue;
    const float similarity = dot_rows(sim, s->title, sim.row(title));
    if (similarity > 0) ex.because.push_back({s->title, similarity, s->weight});
  }
  std::sort(ex.because.begin(), ex.because.end(), [](const BecauseWatched& a, const BecauseWatched& b) {
    return a.similarity > b.similarity || (a.similarity == b.similarity && a.title < b.title);
  });
  if (ex.because.size() > top_titles) ex.because.resize(top_titles);
  return ex;
}

}  // namespace marquee
