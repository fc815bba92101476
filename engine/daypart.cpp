#include "engine/daypart.h"

#include "engine/error.h"
#include "engine/evaluation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace marquee {

TitleDayparts count_title_dayparts(const std::vector<Event>& events, size_t titles) {
  TitleDayparts d;
  d.titles = titles;
  d.plays.assign(titles * 24, 0);
  for (const Event& e : events) {
    MARQUEE_CHECK_ARG(e.title < titles, "event for title {} of {}", e.title, titles);
    if (e.type == EventType::Play) ++d.plays[size_t(e.title) * 24 + e.local_hour % 24];
  }
  return d;
}

std::vector<float> daypart_bias(const TitleDayparts& d, const DaypartTerm& term) {
  MARQUEE_CHECK_ARG(term.prior_plays > 0, "the daypart prior must be positive; got {}", term.prior_plays);
  auto smooth = [](const double* c, size_t h) {
    return 0.25 * c[(h + 23) % 24] + 0.5 * c[h] + 0.25 * c[(h + 1) % 24];
  };
  // The catalogue's profile (smoothed), with a floor so that an hour nobody watches stays finite.
  std::array<double, 24> all{}, all_s{};
  for (size_t t = 0; t < d.titles; ++t)
    for (size_t h = 0; h < 24; ++h) all[h] += d.hours(uint32_t(t))[h];
  const double total = std::accumulate(all.begin(), all.end(), 0.0);
  std::vector<float> bias(d.titles * 24, 0.0f);
  if (total == 0) return bias;
  for (size_t h = 0; h < 24; ++h) all_s[h] = std::max(smooth(all.data(), h) / total, 1e-4);
  std::array<double, 24> c{};
  for (size_t t = 0; t < d.titles; ++t) {
    double n = 0;
    for (size_t h = 0; h < 24; ++h) n += (c[h] = d.hours(uint32_t(t))[h]);
    if (n == 0) continue;
    for (size_t h = 0; h < 24; ++h) {
      const double share = (smooth(c.data(), h) + term.prior_plays * all_s[h]) / (n + term.prior_plays);
      bias[t * 24 + h] = float(std::log(share / all_s[h]));
    }
  }
  return bias;
}

int parse_hour(const std::string& text) {
  int h = -1;
  size_t used = 0;
  try {
    h = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  MARQUEE_CHECK_ARG(used == text.size() && used > 0 && h >= 0 && h <= 23,
                    "hour '{}' is not an hour of day: expected an integer 0..23 (local time)", text);
  return h;
}

std::vector<float> DaypartModel::terms_at(int hour, float* max_term) const {
  MARQUEE_CHECK_ARG(hour >= 0 && hour <= 23, "hour {} outside 0..23", hour);
  std::vector<float> t(dayparts.titles);
  float mx = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    t[i] = float(weight) * bias[i * 24 + size_t(hour)];
    mx = std::max(mx, t[i]);
  }
  if (max_term) *max_term = mx;
  return t;
}

bool rerank_daypart(const ScoredTitle* cand, size_t count, bool exhausted, const float* terms, float max_term,
                    size_t k, std::vector<ScoredTitle>& out) {
  out.assign(cand, cand + count);
  for (ScoredTitle& s : out) s.score += terms[s.title];
  const size_t keep = std::min(k, out.size());
  std::partial_sort(out.begin(), out.begin() + keep, out.end(), ranks_before);
  out.resize(keep);
  if (exhausted || count == 0) return true;
  // A title outside the candidates scores at most last + max_term; it cannot enter when the k-th
  // kept title is strictly better (on a tie it could, through its index).
  return keep == k && out.back().score > cand[count - 1].score + max_term;
}

TitleMatrix with_daypart_columns(const TitleMatrix& titles, const DaypartModel& m, const std::vector<int>& hours) {
  MARQUEE_CHECK_ARG(m.dayparts.titles == titles.num_titles(), "a daypart model of {} titles for {} titles",
                    m.dayparts.titles, titles.num_titles());
  const size_t dim = titles.dim(), out_dim = dim + hours.size();
  std::vector<std::vector<float>> terms;
  for (int h : hours) terms.push_back(m.terms_at(h));
  std::vector<float> rows(titles.num_titles() * out_dim);
  for (size_t t = 0; t < titles.num_titles(); ++t) {
    std::copy(titles.row(t), titles.row(t) + dim, rows.begin() + t * out_dim);
    for (size_t c = 0; c < hours.size(); ++c) rows[t * out_dim + dim + c] = terms[c][t];
  }
  return TitleMatrix::from_rows(titles.num_titles(), out_dim, std::move(rows));
}

std::vector<float> with_hour_columns(const float* users, size_t n, size_t dim, size_t columns, int hot) {
  MARQUEE_CHECK_ARG(hot < int(columns), "hour column {} of {}", hot, columns);
  std::vector<float> out(n * (dim + columns), 0.0f);
  for (size_t u = 0; u < n; ++u) {
    std::copy(users + u * dim, users + (u + 1) * dim, out.begin() + u * (dim + columns));
    if (hot >= 0) out[u * (dim + columns) + dim + size_t(hot)] = 1.0f;
  }
  return out;
}

namespace {

double mcnemar_z(size_t gained, size_t lost) {
  return gained + lost == 0 ? 0.0 : (double(gained) - double(lost)) / std::sqrt(double(gained + lost));
}

}  // namespace

DaypartModel fit_daypart(const std::vector<Event>& events, size_t users, size_t titles, ModelKind model,
                         const DaypartBaseBuilder& base_builder, const DaypartFitOptions& o,
                         DaypartFitReport* report) {
  MARQUEE_CHECK_ARG(o.k >= 1, "the daypart fit needs k >= 1");
  const HoldoutSplit split = split_last_titles(events, users, 1, 2);
  MARQUEE_CHECK_INPUT(split.evaluated_users >= 20,
                      "only {} users have 3 or more titles: too few held-out events to fit the daypart weight",
                      split.evaluated_users);
  // The hour each held-out title was started at: the local hour of its first event.
  std::vector<int64_t> first_ts(users, std::numeric_limits<int64_t>::max());
  std::vector<int> hour(users, -1);
  for (const Event& e : events) {
    const auto& h = split.heldout[e.user];
    if (!h.empty() && h[0] == e.title && e.ts < first_ts[e.user]) {
      first_ts[e.user] = e.ts;
      hour[e.user] = e.local_hour % 24;
    }
  }
  std::vector<size_t> evaluated;
  for (size_t u = 0; u < users; ++u)
    if (!split.heldout[u].empty()) evaluated.push_back(u);
  const size_t stride = std::max<size_t>(1, (evaluated.size() + o.max_users - 1) / std::max<size_t>(1, o.max_users));
  std::vector<size_t> sample;
  for (size_t i = 0; i < evaluated.size(); i += stride) sample.push_back(evaluated[i]);

  DaypartModel m;
  m.model = model;
  m.term = o.term;
  m.dayparts = count_title_dayparts(split.train, titles);  // training events only: nothing leaks
  m.bias = daypart_bias(m.dayparts, m.term);
  DaypartBaseModel base = base_builder(split.train);
  MARQUEE_CHECK_ARG(base.scorer && base.scorer->num_titles() == titles, "the daypart base model has the wrong titles");
  const size_t dim = base.scorer->dim();

  std::vector<double> grid = o.weights.empty()
                                 ? std::vector<double>{0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 50}
                                 : o.weights;
  if (std::find(grid.begin(), grid.end(), 0.0) == grid.end()) grid.insert(grid.begin(), 0.0);
  std::sort(grid.begin(), grid.end());

  // Every sampled user's full ranking of the catalogue (exclusions applied) in batches; per user
  // and weight: hit or not. Half the users (even positions) fit, the other half report.
  const size_t batch = std::max<size_t>(1, std::min<size_t>(4096, (size_t(1) << 24) / std::max<size_t>(1, titles)));
  std::vector<std::vector<uint8_t>> hit(grid.size(), std::vector<uint8_t>(sample.size(), 0));
  double spread_sum = 0, spread = 1.0;
  size_t spread_n = 0;
  std::vector<std::vector<ScoredTitle>> full;
  std::vector<ScoredTitle> best;
  std::vector<float> terms(titles);
  TopKResult r;
  auto rank_batch = [&](size_t b, size_t n) {
    std::vector<float> vec(n * dim);
    Exclusions ex;
    for (size_t i = 0; i < n; ++i) {
      const size_t u = sample[b + i];
      std::copy(base.user_vectors.begin() + u * dim, base.user_vectors.begin() + (u + 1) * dim, vec.begin() + i * dim);
      ex.titles.insert(ex.titles.end(), base.seen.titles.begin() + base.seen.offsets[u],
                       base.seen.titles.begin() + base.seen.offsets[u + 1]);
      ex.offsets.push_back(ex.titles.size());
    }
    base.scorer->search(UserBatchView{n, dim, vec.data(), &ex}, titles, r);
    full.assign(n, {});
    for (size_t i = 0; i < n; ++i) {
      full[i].resize(r.counts[i]);
      for (size_t j = 0; j < r.counts[i]; ++j) full[i][j] = {r.titles[i * titles + j], r.scores[i * titles + j]};
    }
  };
  for (size_t b = 0; b < sample.size(); b += batch) {
    const size_t n = std::min(batch, sample.size() - b);
    rank_batch(b, n);
    if (b == 0) {  // the grid's unit: the first batch's mean gap between the top 1 and top k base scores
      for (size_t i = 0; i < n; ++i)
        if (full[i].size() >= o.k) {
          spread_sum += full[i][0].score - full[i][o.k - 1].score;
          ++spread_n;
        }
      spread = spread_n ? std::max(spread_sum / double(spread_n), 1e-6) : 1.0;
    }
    for (size_t i = 0; i < n; ++i) {
      const size_t u = sample[b + i];
      const float* bias = m.bias.data();
      for (size_t g = 0; g < grid.size(); ++g) {
        const double w = grid[g] * spread;
        for (size_t t = 0; t < titles; ++t) terms[t] = float(w) * bias[t * 24 + size_t(hour[u])];
        rerank_daypart(full[i].data(), full[i].size(), true, terms.data(), 0.0f, o.k, best);
        for (const ScoredTitle& s : best)
          if (s.title == split.heldout[u][0]) hit[g][b + i] = 1;
      }
    }
  }

  DaypartFitReport rep;
  rep.spread = spread;
  size_t chosen = 0;
  size_t best_hits = 0;
  for (size_t g = 0; g < grid.size(); ++g) {
    size_t hits = 0, gained = 0, lost = 0;
    for (size_t i = 0; i < sample.size(); i += 2) {
      hits += hit[g][i];
      gained += hit[g][i] && !hit[0][i];
      lost += !hit[g][i] && hit[0][i];
    }
    rep.grid.push_back({grid[g] * spread, hits, mcnemar_z(gained, lost)});
    if (hits > best_hits) {
      best_hits = hits;
      chosen = g;
    }
  }
  rep.best_z = rep.grid[chosen].z;
  if (rep.best_z < o.min_z) chosen = 0;  // not significant: the hour does not matter here
  m.weight = grid[chosen] * spread;
  rep.weight = m.weight;
  for (size_t i = 0; i < sample.size(); ++i) {
    const size_t u = sample[i];
    if (i % 2 == 0) {
      ++rep.fit_users;
      rep.fit_hits_without += hit[0][i];
      rep.fit_hits_with += hit[chosen][i];
    } else {
      ++rep.test_users;
      rep.test_hits_without += hit[0][i];
      rep.test_hits_with += hit[chosen][i];
      ++rep.test_users_by_hour[size_t(hour[u])];
      rep.test_hits_without_by_hour[size_t(hour[u])] += hit[0][i];
      rep.test_hits_with_by_hour[size_t(hour[u])] += hit[chosen][i];
    }
  }
  if (report) *report = rep;
  return m;
}

}  // namespace marquee
