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
  const bool digits = !text.empty() && text.size() <= 2 &&
                      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  const int h = digits ? std::stoi(text) : -1;
  MARQUEE_CHECK_ARG(digits && h <= 23, "hour '{}' is not an hour of day: expected an integer 0..23 (local time)",
                    text);
  return h;
}

std::vector<float> DaypartModel::terms_at(int hour) const {
  MARQUEE_CHECK_ARG(hour >= 0 && hour <= 23, "hour {} outside 0..23", hour);
  std::vector<float> t(dayparts.titles);
  for (size_t i = 0; i < t.size(); ++i) t[i] = float(weight) * bias[i * 24 + size_t(hour)];
  return t;
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
  MARQUEE_CHECK_ARG(o.k >= 1 && o.k <= titles, "the daypart fit needs 1 <= k <= {} titles; got {}", titles, o.k);
  MARQUEE_CHECK_ARG(o.max_users >= 2, "the daypart fit needs at least 2 users (half fit, half report); got {}",
                    o.max_users);
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
  m.dayparts = count_title_dayparts(split.train, titles);  // for the fit: training events only, nothing leaks
  m.bias = daypart_bias(m.dayparts, m.term);
  DaypartBaseModel base = base_builder(split.train);
  MARQUEE_CHECK_ARG(base.scorer && base.scorer->num_titles() == titles, "the daypart base model has the wrong titles");
  const size_t dim = base.scorer->dim();

  std::vector<double> grid = o.weights.empty()
                                 ? std::vector<double>{0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2,
                                                       3, 5, 7.5, 10, 15, 20, 30, 50}
                                 : o.weights;
  for (double w : grid) MARQUEE_CHECK_ARG(std::isfinite(w) && w >= 0, "daypart weights must be finite and >= 0; got {}", w);
  grid.push_back(0.0);  // the baseline is always column 0 of the grid
  std::sort(grid.begin(), grid.end());
  grid.erase(std::unique(grid.begin(), grid.end()), grid.end());

  // The grid's unit: the mean gap between the base model's top 1 and top k scores over (up to)
  // 1024 sampled users, so that one grid of multiples serves any model's score scale.
  double spread = 1.0;
  {
    const size_t n = std::min<size_t>(1024, sample.size());
    const GatheredUsers g = gather_users(base.user_vectors.data(), dim, base.seen, sample.data(), n);
    TopKResult top;
    base.scorer->search(UserBatchView{n, dim, g.vectors.data(), &g.exclusions}, o.k, top);
    double sum = 0;
    size_t counted = 0;
    for (size_t i = 0; i < n; ++i)
      if (top.counts[i] == o.k) {
        sum += top.scores[i * o.k] - top.scores[i * o.k + o.k - 1];
        ++counted;
      }
    if (counted) spread = std::max(sum / double(counted), 1e-6);
  }

  // Per user and weight: is the held-out title in the top k of base + w * bias(., hour)? Its rank
  // is the number of titles that beat it (ties: the lower index), so each weight costs one pass
  // over the user's base scores — no sorting. The base scores come from one search of the whole
  // catalogue (exclusions applied) per batch of users.
  std::vector<std::vector<float>> bias_at(24, std::vector<float>(titles));  // by hour: contiguous per title
  for (size_t t = 0; t < titles; ++t)
    for (size_t h = 0; h < 24; ++h) bias_at[h][t] = m.bias[t * 24 + h];
  const size_t batch = std::max<size_t>(1, std::min<size_t>(4096, (size_t(1) << 24) / std::max<size_t>(1, titles)));
  std::vector<std::vector<uint8_t>> hit(grid.size(), std::vector<uint8_t>(sample.size(), 0));
  TopKResult r;
  for (size_t b = 0; b < sample.size(); b += batch) {
    const size_t n = std::min(batch, sample.size() - b);
    const GatheredUsers g = gather_users(base.user_vectors.data(), dim, base.seen, sample.data() + b, n);
    base.scorer->search(UserBatchView{n, dim, g.vectors.data(), &g.exclusions}, titles, r);
    for (size_t i = 0; i < n; ++i) {
      const size_t u = sample[b + i];
      const uint32_t held = split.heldout[u][0];
      const uint32_t* ts = r.titles.data() + i * titles;
      const float* sc = r.scores.data() + i * titles;
      const size_t count = r.counts[i];
      const size_t at = size_t(std::find(ts, ts + count, held) - ts);
      if (at == count) continue;  // excluded by the training history (cannot happen: it is held out)
      const float* bias = bias_at[size_t(hour[u])].data();
      for (size_t g = 0; g < grid.size(); ++g) {
        const float w = float(grid[g] * spread);
        const float target = sc[at] + w * bias[held];
        size_t beaten_by = 0;
        for (size_t j = 0; j < count && beaten_by < o.k; ++j) {
          const float v = sc[j] + w * bias[ts[j]];
          beaten_by += v > target || (v == target && ts[j] < held);
        }
        hit[g][b + i] = beaten_by < o.k;
      }
    }
    if (o.on_users) o.on_users(b + n, sample.size());
  }

  // The weight: most hits on the fit half among the weights that beat none significantly
  // (McNemar z >= min_z); none: 0. The report half gets its own McNemar z.
  auto compare = [&](size_t g, size_t parity, size_t* hits) {
    size_t gained = 0, lost = 0, h = 0;
    for (size_t i = parity; i < sample.size(); i += 2) {
      h += hit[g][i];
      gained += hit[g][i] && !hit[0][i];
      lost += !hit[g][i] && hit[0][i];
    }
    if (hits) *hits = h;
    return mcnemar_z(gained, lost);
  };
  DaypartFitReport rep;
  rep.spread = spread;
  size_t chosen = 0, best_hits = 0;
  compare(0, 0, &best_hits);
  rep.best_z = 0;
  for (size_t g = 0; g < grid.size(); ++g) {
    size_t hits = 0;
    const double z = compare(g, 0, &hits);
    rep.grid.push_back({grid[g] * spread, hits, z});
    rep.best_z = std::max(rep.best_z, z);
    if (g > 0 && z >= o.min_z && hits > best_hits) {
      best_hits = hits;
      chosen = g;
    }
  }
  rep.test_z = compare(chosen, 1, nullptr);
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
  // The model that is written counts every event, held-out ones too: the last titles people
  // started (often the newest) would otherwise have the fewest plays and the weakest profiles.
  m.dayparts = count_title_dayparts(events, titles);
  m.bias = daypart_bias(m.dayparts, m.term);
  if (report) *report = rep;
  return m;
}

}  // namespace marquee
