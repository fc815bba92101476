// Side-by-side: Marquee's CPU scorer against FAISS IndexFlatIP on the same synthetic data, with the
// same thread count, then a check that both return the same top-K for every user.
//
//   bench_faiss_compare --users 100000 --titles 20000 --tags 500 --k 50 --seed 1 [--threads 0] [--json out.json]
//
// FAISS has no per-query exclusions, so it is asked for k' = k + (most exclusions in the batch)
// results, each user's excluded titles are dropped and the first k kept: what a FAISS user must do.
// Timings are wall clock summed over batches (search plus writing the final top-K), after an
// untimed warm-up batch; with --repeat N every method runs N times, interleaved, and the best counts. Exit status: 0 when every path agrees with FAISS and with the naive
// reference, 1 otherwise, 2 on bad arguments.
#include "bench/peak.h"
#include "bench/synthetic.h"
#include "engine/blas_cores.h"
#include "engine/clock.h"

#include "engine/dense_kernel.h"
#include "engine/scorer.h"
#include "engine/title_matrix.h"

#include <CLI/CLI.hpp>
#include <cblas.h>
#include <faiss/IndexFlat.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <numeric>
#include <string>
#include <vector>

namespace {

using namespace marquee;
using FaissId = int64_t;  // faiss::idx_t (Index::idx_t before FAISS 1.7.4)

/// The 1-minute load average: other work on the machine skews every figure here.
double load_average() {
  double l[3] = {0, 0, 0};
  return getloadavg(l, 3) >= 1 ? l[0] : NAN;
}

/// CPU seconds used by the whole process so far (all threads, including OpenBLAS's and OpenMP's).
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

/// Wall-clock and process CPU seconds of a timed region. Wall time is the figure; CPU time tells
/// whether the run got its cores (wall x threads well above cpu means other load took them).
struct Timing {
  double wall = 0;
  double cpu = 0;
};

class Stopwatch {
 public:
  Stopwatch() : wall0_(Clock::now()), cpu0_(process_cpu_seconds()) {}
  void add_to(Timing& t) const {
    t.wall += seconds_since(wall0_);
    t.cpu += process_cpu_seconds() - cpu0_;
  }

 private:
  Clock::time_point wall0_;
  double cpu0_;
};

/// All users' top-K of one method, flat: user u's entries are [u*k, u*k + count[u]).
/// `extra` holds further ranked candidates beyond K where a method has them (FAISS's over-fetch),
/// used only to recognise near-tie swaps at the K boundary.
struct Ranking {
  size_t k = 0;
  std::vector<uint32_t> titles;
  std::vector<float> scores;
  std::vector<uint32_t> counts;
  std::vector<std::vector<ScoredTitle>> extra;

  void resize(size_t users, size_t k_) {
    k = k_;
    titles.assign(users * k, 0);
    scores.assign(users * k, 0.0f);
    counts.assign(users, 0);
    extra.clear();
  }
};

struct Batches {
  size_t size = 0;
  std::vector<Exclusions> exclusions;  // one re-based CSR per batch
  std::vector<size_t> max_excluded;    // per batch
};

Batches make_batches(const bench::SyntheticUsers& u, size_t batch) {
  Batches b;
  b.size = batch;
  for (size_t u0 = 0; u0 < u.count; u0 += batch) {
    const size_t nb = std::min(batch, u.count - u0);
    b.exclusions.push_back(bench::slice_exclusions(u.exclusions, u0, nb));
    size_t most = 0;
    for (size_t i = 0; i < nb; ++i) most = std::max<size_t>(most, u.exclusions.offsets[u0 + i + 1] - u.exclusions.offsets[u0 + i]);
    b.max_excluded.push_back(most);
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// Marquee

Timing run_marquee(Scorer& scorer, const bench::SyntheticUsers& u, const Batches& b, size_t k, Ranking& out) {
  out.resize(u.count, k);
  TopKResult res;
  {  // warm-up: a small first batch, untimed
    const size_t nw = std::min<size_t>(1024, u.count);
    const Exclusions ex = bench::slice_exclusions(u.exclusions, 0, nw);
    scorer.search(UserBatchView{nw, u.dim, u.vectors.data(), &ex}, k, res);
  }
  Timing total;
  for (size_t bi = 0, u0 = 0; u0 < u.count; ++bi, u0 += b.size) {
    const size_t nb = std::min(b.size, u.count - u0);
    const Stopwatch sw;
    scorer.search(UserBatchView{nb, u.dim, u.vectors.data() + u0 * u.dim, &b.exclusions[bi]}, k, res);
    std::copy(res.titles.begin(), res.titles.end(), out.titles.begin() + u0 * k);
    std::copy(res.scores.begin(), res.scores.end(), out.scores.begin() + u0 * k);
    std::copy(res.counts.begin(), res.counts.end(), out.counts.begin() + u0);
    sw.add_to(total);
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// FAISS IndexFlatIP with over-fetch and exclusion filtering

void faiss_batch(const faiss::IndexFlatIP& index, const float* x, size_t nb, const Exclusions& ex, size_t kp,
                 size_t k, std::vector<float>& D, std::vector<FaissId>& I, uint32_t* titles, float* scores,
                 uint32_t* counts) {
  D.resize(nb * kp);
  I.resize(nb * kp);
  index.search(FaissId(nb), x, FaissId(kp), D.data(), I.data());
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < nb; ++i) {
    const uint32_t* first = ex.titles.data() + ex.offsets[i];
    const uint32_t* last = ex.titles.data() + ex.offsets[i + 1];
    uint32_t n = 0;
    for (size_t r = 0; r < kp && n < k; ++r) {
      const FaissId id = I[i * kp + r];
      if (id < 0) break;
      if (std::binary_search(first, last, uint32_t(id))) continue;
      titles[i * k + n] = uint32_t(id);
      scores[i * k + n] = D[i * kp + r];
      ++n;
    }
    counts[i] = n;
  }
}

Timing run_faiss(const TitleMatrix& m, const bench::SyntheticUsers& u, const Batches& b, size_t k, Ranking& out,
                 double& add_seconds) {
  out.resize(u.count, k);
  out.extra.assign(u.count, {});
  const auto ta = Clock::now();
  faiss::IndexFlatIP index(FaissId(m.dim()));
  index.add(FaissId(m.num_titles()), m.dense().data());
  add_seconds = seconds_since(ta);

  std::vector<float> D;
  std::vector<FaissId> I;
  {  // warm-up, untimed
    const size_t nw = std::min<size_t>(1024, u.count);
    const Exclusions ex = bench::slice_exclusions(u.exclusions, 0, nw);
    std::vector<uint32_t> t(nw * k), c(nw);
    std::vector<float> s(nw * k);
    faiss_batch(index, u.vectors.data(), nw, ex, std::min(m.num_titles(), k + b.max_excluded[0]), k, D, I, t.data(),
                s.data(), c.data());
  }
  Timing total;
  for (size_t bi = 0, u0 = 0; u0 < u.count; ++bi, u0 += b.size) {
    const size_t nb = std::min(b.size, u.count - u0);
    const size_t kp = std::min(m.num_titles(), k + b.max_excluded[bi]);
    const Stopwatch sw;
    faiss_batch(index, u.vectors.data() + u0 * u.dim, nb, b.exclusions[bi], kp, k, D, I, out.titles.data() + u0 * k,
                out.scores.data() + u0 * k, out.counts.data() + u0);
    sw.add_to(total);
    // Untimed: keep the over-fetched candidates past K for the boundary-tie check.
    const Exclusions& ex = b.exclusions[bi];
    for (size_t i = 0; i < nb; ++i) {
      const uint32_t* first = ex.titles.data() + ex.offsets[i];
      const uint32_t* last = ex.titles.data() + ex.offsets[i + 1];
      size_t kept = 0;
      for (size_t r = 0; r < kp; ++r) {
        const FaissId id = I[i * kp + r];
        if (id < 0) break;
        if (std::binary_search(first, last, uint32_t(id))) continue;
        if (++kept > k) out.extra[u0 + i].push_back({uint32_t(id), D[i * kp + r]});
      }
    }
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Naive single-thread reference: every score in double precision, full sort, first `users` users.

Timing run_naive(const TitleMatrix& m, const bench::SyntheticUsers& u, size_t users, size_t k, Ranking& out) {
  out.resize(users, k);
  out.extra.assign(users, {});
  const size_t n_titles = m.num_titles();
  std::vector<std::pair<double, uint32_t>> all(n_titles);
  const Stopwatch sw;
  for (size_t i = 0; i < users; ++i) {
    const float* v = u.vectors.data() + i * u.dim;
    const uint32_t* first = u.exclusions.titles.data() + u.exclusions.offsets[i];
    const uint32_t* last = u.exclusions.titles.data() + u.exclusions.offsets[i + 1];
    size_t n = 0;
    for (uint32_t t = 0; t < n_titles; ++t) {
      if (std::binary_search(first, last, t)) continue;
      const float* r = m.row(t);
      double s = 0;
      for (size_t d = 0; d < u.dim; ++d) s += double(v[d]) * double(r[d]);
      all[n++] = {s, t};
    }
    const size_t keep = std::min(n, k + 8);
    std::partial_sort(all.begin(), all.begin() + keep, all.begin() + n, [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    out.counts[i] = uint32_t(std::min(n, k));
    for (size_t r = 0; r < keep; ++r) {
      if (r < k) {
        out.titles[i * k + r] = all[r].second;
        out.scores[i * k + r] = float(all[r].first);
      } else {
        out.extra[i].push_back({all[r].second, float(all[r].first)});
      }
    }
  }
  Timing t;
  sw.add_to(t);
  return t;
}

// ---------------------------------------------------------------------------------------------
// Agreement: same titles in the same order, except swaps among titles whose scores differ by less
// than `swap_eps`; scores position by position within `score_eps`.

struct Agreement {
  size_t users = 0;
  size_t mismatched = 0;
  size_t tie_swaps = 0;  // positions where the titles differ but the swap is within swap_eps
  double max_score_diff = 0;
  std::vector<std::string> examples;
};

/// Score of `title` in user u's ranking of `r` (K entries plus extras), or NaN if absent.
float find_score(const Ranking& r, size_t u, uint32_t title) {
  for (uint32_t i = 0; i < r.counts[u]; ++i)
    if (r.titles[u * r.k + i] == title) return r.scores[u * r.k + i];
  if (!r.extra.empty())
    for (const ScoredTitle& e : r.extra[u])
      if (e.title == title) return e.score;
  return NAN;
}

Agreement compare(const Ranking& a, const Ranking& b, size_t users, double score_eps = 1e-4, double swap_eps = 1e-5) {
  Agreement g;
  g.users = users;
  const size_t k = a.k;
  for (size_t u = 0; u < users; ++u) {
    std::string why;
    if (a.counts[u] != b.counts[u]) {
      why = fmt::format("{} vs {} results", a.counts[u], b.counts[u]);
    } else {
      const size_t n = a.counts[u];
      for (size_t r = 0; r < n && why.empty(); ++r) {
        const uint32_t ta = a.titles[u * k + r], tb = b.titles[u * k + r];
        const float sa = a.scores[u * k + r], sb = b.scores[u * k + r];
        const double diff = std::fabs(double(sa) - double(sb));
        g.max_score_diff = std::max(g.max_score_diff, diff);
        if (!(diff < score_eps)) {
          why = fmt::format("rank {}: score {:.7f} vs {:.7f}", r, sa, sb);
          break;
        }
        if (ta == tb) continue;
        // A swap is fine when both titles' scores sit within swap_eps of each other in both
        // rankings; at the K boundary the other ranking may hold the title just past K.
        const float sa_in_b = find_score(b, u, ta);
        const float sb_in_a = find_score(a, u, tb);
        const float last_a = a.scores[u * k + n - 1];
        const bool a_ok = !std::isnan(sa_in_b) && std::fabs(double(sa_in_b) - sa) < swap_eps &&
                          std::fabs(double(sa) - sb) < swap_eps;
        const bool b_ok = (!std::isnan(sb_in_a) && std::fabs(double(sb_in_a) - sb) < swap_eps) ||
                          (std::isnan(sb_in_a) && std::fabs(double(sb) - last_a) < swap_eps);
        if (a_ok && b_ok) {
          ++g.tie_swaps;
        } else {
          why = fmt::format("rank {}: title {} ({:.7f}) vs title {} ({:.7f})", r, ta, sa, tb, sb);
        }
      }
    }
    if (!why.empty()) {
      ++g.mismatched;
      if (g.examples.size() < 5) g.examples.push_back(fmt::format("user {}: {}", u, why));
    }
  }
  return g;
}

/// Mean fraction of b's top-K titles that a's top-K holds (order ignored).
double recall(const Ranking& a, const Ranking& b, size_t users) {
  double sum = 0;
  size_t counted = 0;
  std::vector<uint32_t> x, y;
  for (size_t u = 0; u < users; ++u) {
    if (b.counts[u] == 0) continue;
    x.assign(a.titles.begin() + u * a.k, a.titles.begin() + u * a.k + a.counts[u]);
    y.assign(b.titles.begin() + u * b.k, b.titles.begin() + u * b.k + b.counts[u]);
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    std::vector<uint32_t> both;
    std::set_intersection(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(both));
    sum += double(both.size()) / double(y.size());
    ++counted;
  }
  return counted ? sum / double(counted) : NAN;
}

void print_agreement(const char* name, const Agreement& g) {
  fmt::print("  {:<28} {:>8} users  {:>6} mismatched  {:>6} near-tie swaps  max |score diff| {:.2e}\n", name,
             g.users, g.mismatched, g.tie_swaps, g.max_score_diff);
  for (const std::string& e : g.examples) fmt::print("      {}\n", e);
}

nlohmann::json agreement_json(const Agreement& g) {
  return {{"users", g.users}, {"mismatched", g.mismatched}, {"near_tie_swaps", g.tie_swaps},
          {"max_score_diff", g.max_score_diff}, {"examples", g.examples}};
}

}  // namespace

int main(int argc, char** argv) {
  // OpenBLAS's kernels as the CLI chooses them (engine/blas_cores.h); FAISS shares the library, so
  // both sides of the comparison get the same ones.
  const marquee::BlasCores blas = marquee::tune_blas_cores();
  std::printf("openblas kernels: %s%s (%s)\n", blas.before.c_str(), blas.changed() ? (" -> " + blas.after).c_str() : "",
              blas.reason.c_str());
  size_t n_users = 100000, n_titles = 20000, n_tags = 500, k = 50, batch = 16384, naive_users = 200;
  uint64_t seed = 1;
  int threads = 0, repeat = 1;
  std::string json_path;
  bool skip_dense = false, skip_peak = false;

  CLI::App app{"Marquee CPU scorer vs FAISS IndexFlatIP: throughput and top-K agreement"};
  app.add_option("--users", n_users, "Users to score")->check(CLI::PositiveNumber);
  app.add_option("--titles", n_titles, "Titles in the synthetic catalogue")->check(CLI::PositiveNumber);
  app.add_option("--tags", n_tags, "Tags (vector dimension)")->check(CLI::PositiveNumber);
  app.add_option("--k", k, "Top-K per user")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "Seed of the synthetic data");
  app.add_option("--threads", threads, "Threads for both (0 = OpenMP default)")->check(CLI::NonNegativeNumber);
  app.add_option("--batch", batch, "Users per search call")->check(CLI::PositiveNumber);
  app.add_option("--repeat", repeat, "Rounds of every method, interleaved; the best time counts")
      ->check(CLI::PositiveNumber);
  app.add_option("--naive-users", naive_users, "Users for the naive single-thread reference");
  app.add_flag("--skip-dense", skip_dense, "Do not run Marquee's dense path (it is a full GEMM)");
  app.add_flag("--skip-peak", skip_peak, "Do not measure the FMA peak and SGEMM's square-product rate");
  app.add_option("--json", json_path, "Also write the figures to this JSON file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (k > n_titles) {
    fmt::print(stderr, "--k ({}) must not exceed --titles ({})\n", k, n_titles);
    return 2;
  }

  if (threads <= 0) threads = omp_get_max_threads();
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);

  fmt::print("Building synthetic data: {} users x {} titles x {} tags, seed {} ...\n", n_users, n_titles, n_tags, seed);
  auto t_build = Clock::now();
  const TitleMatrix titles = TitleMatrix::build(bench::make_catalog(n_titles, n_tags, seed));
  const bench::SyntheticUsers users = bench::make_users(titles, n_users, seed + 1);
  const Batches batches = make_batches(users, batch);
  const double avg_ex = double(users.exclusions.titles.size()) / double(n_users);
  fmt::print("  built in {:.1f} s; title density {:.4f} ({:.1f} tags/title); {:.1f} exclusions/user (max {})\n",
             seconds_since(t_build), titles.density(), double(titles.values().size()) / double(n_titles), avg_ex,
             users.max_exclusions);
  double peak_fma = NAN, peak_sgemm = NAN;
  if (!skip_peak) {
    peak_fma = bench::measure_fma_peak_gflops(threads);
    peak_sgemm = bench::measure_sgemm_gflops(threads);
    openblas_set_num_threads(threads);
    fmt::print("  machine: FMA peak {:.0f} GFLOP/s, SGEMM 2048^3 {:.0f} GFLOP/s on {} threads\n", peak_fma, peak_sgemm,
               threads);
  }
  const double load_start = load_average();
  fmt::print("  threads: {} (OpenMP and OpenBLAS), batches of {} users; load average {:.2f}\n\n", threads, batch,
             load_start);

  // Marquee
  Ranking r_auto, r_sparse, r_dense, r_blas, r_bf16, r_faiss, r_naive;
  // Auto keeps the engine's own density threshold (CpuScorerOptions' default).
  auto options = [threads](CpuScoringPath path) {
    CpuScorerOptions o;
    o.path = path;
    o.threads = threads;
    return o;
  };
  auto scorer_auto = make_cpu_scorer(titles, options(CpuScoringPath::Auto));
  auto scorer_sparse = make_cpu_scorer(titles, options(CpuScoringPath::Sparse));
  auto scorer_dense = make_cpu_scorer(titles, options(CpuScoringPath::Dense));
  CpuScorerOptions blas_options = options(CpuScoringPath::Dense);
  blas_options.dense_kernel = CpuDenseKernel::Blas;  // the alternative the micro-kernel replaced
  auto scorer_blas = make_cpu_scorer(titles, blas_options);
  // bf16 (an approximate precision): timed beside the rest, judged by recall of the exact top-K.
  std::unique_ptr<Scorer> scorer_bf16;
  if (detail::dense_kernel_avx512_bf16_supported()) {
    CpuScorerOptions o = options(CpuScoringPath::Dense);
    o.precision = CpuPrecision::Bf16;
    scorer_bf16 = make_cpu_scorer(titles, o);
  }
  const bool auto_sparse = titles.density() < CpuScorerOptions{}.sparse_density_threshold;
  const std::string auto_desc = scorer_auto->describe();
  // Each round runs every method once, interleaved, so that a burst of other load on the machine
  // hits all of them alike; the best (lowest wall) time of each method is reported.
  struct Method {
    std::string name;
    std::vector<Timing> runs;
    Timing best{NAN, NAN};
    double users_per_s = NAN;
  };
  Method m_auto{fmt::format("Marquee auto ({})", auto_sparse ? "sparse" : "dense"), {}},
      m_sparse{"Marquee sparse", {}}, m_dense{"Marquee dense", {}}, m_blas{"Marquee dense, BLAS tiles", {}},
      m_bf16{"Marquee dense bf16 (approximate)", {}}, m_faiss{"FAISS IndexFlatIP + filter", {}},
      m_naive{fmt::format("naive 1-thread ({} users)", std::min(naive_users, n_users)), {}};
  auto report = [](const Timing& t) { fmt::print("{:.2f} s (cpu {:.2f} s)\n", t.wall, t.cpu); };
  double s_faiss_add = 0;
  for (int round = 1; round <= repeat; ++round) {
    if (repeat > 1) fmt::print("Round {} of {}\n", round, repeat);
    fmt::print("  Marquee auto   [{}] ... ", auto_desc);
    std::fflush(stdout);
    m_auto.runs.push_back(run_marquee(*scorer_auto, users, batches, k, r_auto));
    report(m_auto.runs.back());
    fmt::print("  Marquee sparse [{}] ... ", scorer_sparse->describe());
    std::fflush(stdout);
    m_sparse.runs.push_back(run_marquee(*scorer_sparse, users, batches, k, r_sparse));
    report(m_sparse.runs.back());
    if (!skip_dense) {
      fmt::print("  Marquee dense  [{}] ... ", scorer_dense->describe());
      std::fflush(stdout);
      m_dense.runs.push_back(run_marquee(*scorer_dense, users, batches, k, r_dense));
      report(m_dense.runs.back());
      fmt::print("  Marquee dense  [{}] ... ", scorer_blas->describe());
      std::fflush(stdout);
      m_blas.runs.push_back(run_marquee(*scorer_blas, users, batches, k, r_blas));
      report(m_blas.runs.back());
      if (scorer_bf16) {
        fmt::print("  Marquee dense  [{}] ... ", scorer_bf16->describe());
        std::fflush(stdout);
        m_bf16.runs.push_back(run_marquee(*scorer_bf16, users, batches, k, r_bf16));
        report(m_bf16.runs.back());
      }
    }
    fmt::print("  FAISS IndexFlatIP (over-fetch k + max exclusions, filter, keep k; index add untimed) ... ");
    std::fflush(stdout);
    m_faiss.runs.push_back(run_faiss(titles, users, batches, k, r_faiss, s_faiss_add));
    report(m_faiss.runs.back());
  }
  scorer_auto.reset();
  scorer_sparse.reset();
  scorer_dense.reset();
  scorer_blas.reset();
  scorer_bf16.reset();

  naive_users = std::min(naive_users, n_users);
  if (naive_users > 0) {
    fmt::print("  Naive reference (1 thread, double precision) on {} users ... ", naive_users);
    std::fflush(stdout);
    m_naive.runs.push_back(run_naive(titles, users, naive_users, k, r_naive));
    report(m_naive.runs.back());
  }
  for (Method* m : {&m_auto, &m_sparse, &m_dense, &m_blas, &m_bf16, &m_faiss, &m_naive}) {
    if (m->runs.empty()) continue;
    m->best = *std::min_element(m->runs.begin(), m->runs.end(),
                                [](const Timing& a, const Timing& b) { return a.wall < b.wall; });
    m->users_per_s = double(m == &m_naive ? naive_users : n_users) / m->best.wall;
  }

  // Agreement
  fmt::print("\nAgreement (same titles in the same order; swaps only within 1e-5; scores within 1e-4):\n");
  const Agreement g_auto = compare(r_auto, r_faiss, n_users);
  const Agreement g_sparse = compare(r_sparse, r_faiss, n_users);
  Agreement g_dense, g_blas;
  if (!skip_dense) {
    g_dense = compare(r_dense, r_faiss, n_users);
    g_blas = compare(r_blas, r_faiss, n_users);
  }
  Agreement g_naive_m, g_naive_f;
  if (naive_users > 0) {
    g_naive_m = compare(r_auto, r_naive, naive_users);
    g_naive_f = compare(r_faiss, r_naive, naive_users);
  }
  print_agreement("Marquee auto vs FAISS", g_auto);
  print_agreement("Marquee sparse vs FAISS", g_sparse);
  if (!skip_dense) {
    print_agreement("Marquee dense vs FAISS", g_dense);
    print_agreement("Marquee BLAS tiles vs FAISS", g_blas);
  }
  double bf16_recall = NAN;
  if (!m_bf16.runs.empty()) {
    bf16_recall = recall(r_bf16, r_faiss, n_users);
    fmt::print("  Marquee bf16: recall of FAISS's exact top-{} {:.4f} (approximate by design; not an agreement check)\n",
               k, bf16_recall);
  }
  if (naive_users > 0) {
    print_agreement("Marquee auto vs naive", g_naive_m);
    print_agreement("FAISS vs naive", g_naive_f);
  }
  const bool agree = g_auto.mismatched == 0 && g_sparse.mismatched == 0 && g_dense.mismatched == 0 &&
                     g_blas.mismatched == 0 && g_naive_m.mismatched == 0 && g_naive_f.mismatched == 0;

  // Table
  const double ratio = m_auto.users_per_s / m_faiss.users_per_s;
  const double load_end = load_average();
  fmt::print("\n{} users x {} titles x {} tags, K = {}, {} threads, best of {} (load average {:.2f} at start, {:.2f} at end)\n",
             n_users, n_titles, n_tags, k, threads, repeat, load_start, load_end);
  // GFLOP/s as a dense product would count them (2 x users x titles x dim), whatever the method did.
  const double flops_per_user = 2.0 * double(n_titles) * double(n_tags);
  if (!skip_peak)
    fmt::print("machine: FMA peak {:.0f} GFLOP/s, OpenBLAS SGEMM 2048^3 {:.0f} GFLOP/s ({} threads, measured now)\n",
               peak_fma, peak_sgemm, threads);
  fmt::print("| {:<32} | {:>8} | {:>8} | {:>10} | {:>8} | {:>8} | {:>7} | {:>7} |\n", "method", "wall s", "cpu s",
             "users/s", "vs FAISS", "GFLOP/s", "of FMA", "of GEMM");
  fmt::print("|{:-<34}|{:->10}|{:->10}|{:->12}|{:->10}|{:->10}|{:->9}|{:->9}|\n", "", "", "", "", "", "", "", "");
  for (const Method* m : {&m_auto, &m_sparse, &m_dense, &m_blas, &m_bf16, &m_faiss, &m_naive}) {
    if (m->runs.empty()) continue;
    const double gflops = m->users_per_s * flops_per_user / 1e9;
    fmt::print("| {:<32} | {:>8.2f} | {:>8.2f} | {:>10.0f} | {:>7.2f}x | {:>8.1f} | {:>6.1f}% | {:>6.1f}% |\n", m->name,
               m->best.wall, m->best.cpu, m->users_per_s, m->users_per_s / m_faiss.users_per_s, gflops,
               100 * gflops / peak_fma, 100 * gflops / peak_sgemm);
  }
  fmt::print("\nMarquee (auto) / FAISS = {:.2f}x   agreement: {}\n", ratio,
             agree ? "PASS (identical top-K for every user)" : "FAIL");

  if (!json_path.empty()) {
    nlohmann::json j;
    j["shape"] = {{"users", n_users}, {"titles", n_titles}, {"tags", n_tags}, {"k", k}, {"seed", seed},
                  {"threads", threads}, {"batch", batch}, {"repeat", repeat}};
    j["data"] = {{"density", titles.density()}, {"exclusions_per_user", avg_ex}, {"max_exclusions", users.max_exclusions}};
    j["load_average"] = {{"start", load_start}, {"end", load_end}};
    j["marquee_auto_path"] = auto_desc;
    j["faiss_add_seconds"] = s_faiss_add;
    j["machine"] = {{"fma_peak_gflops", peak_fma}, {"sgemm_2048_gflops", peak_sgemm}};
    auto method_json = [](const Method& m) {
      nlohmann::json wall = nlohmann::json::array(), cpu = nlohmann::json::array();
      for (const Timing& t : m.runs) {
        wall.push_back(t.wall);
        cpu.push_back(t.cpu);
      }
      return nlohmann::json{{"name", m.name}, {"seconds", m.best.wall}, {"cpu_seconds", m.best.cpu},
                            {"users_per_s", m.users_per_s}, {"all_seconds", wall}, {"all_cpu_seconds", cpu}};
    };
    j["methods"]["marquee_auto"] = method_json(m_auto);
    j["methods"]["marquee_sparse"] = method_json(m_sparse);
    if (!skip_dense) {
      j["methods"]["marquee_dense"] = method_json(m_dense);
      j["methods"]["marquee_dense_blas"] = method_json(m_blas);
      if (!m_bf16.runs.empty()) {
        j["methods"]["marquee_dense_bf16"] = method_json(m_bf16);
        j["bf16_recall"] = bf16_recall;
      }
    }
    j["methods"]["faiss"] = method_json(m_faiss);
    if (naive_users > 0) {
      j["methods"]["naive"] = method_json(m_naive);
      j["naive_users"] = naive_users;
    }
    j["ratio_marquee_auto_over_faiss"] = ratio;
    j["agreement"] = {{"pass", agree}, {"auto_vs_faiss", agreement_json(g_auto)},
                      {"sparse_vs_faiss", agreement_json(g_sparse)}};
    if (!skip_dense) {
      j["agreement"]["dense_vs_faiss"] = agreement_json(g_dense);
      j["agreement"]["dense_blas_vs_faiss"] = agreement_json(g_blas);
    }
    if (naive_users > 0) {
      j["agreement"]["auto_vs_naive"] = agreement_json(g_naive_m);
      j["agreement"]["faiss_vs_naive"] = agreement_json(g_naive_f);
    }
    std::ofstream(json_path) << j.dump(2) << "\n";
    fmt::print("wrote {}\n", json_path);
  }
  return agree ? 0 : 1;
}
