// CPU backend: exact inner-product top-K with exclusions, in bounded memory.
//
// Two ways to form scores, picked by title-matrix density (docs/benchmarks.md has the measurements):
//  - sparse: title vectors carry tens of tags out of hundreds, so each score is ~20 multiply-adds
//    instead of `dim`. Users are taken 32 at a time, transposed so that one tag's weights for the
//    32 users are contiguous; a title's scores for the block are then 20 vector FMAs, and a single
//    vector compare against the 32 running thresholds rejects almost every title without a store.
//  - dense: our micro-kernel (engine/dense_kernel.h, AVX-512 or AVX2 picked at run time) computes
//    a register block of users x titles over the whole dimension and compares it with the users'
//    thresholds in registers; no score row is written (search_dense). Past kFusedMaxDim, where
//    the kernel's panels no longer fit L1, single-threaded SGEMM tiles (search_dense_blas).
// Both visit titles in increasing index order, so ties resolve to the lower index for free.
#include "engine/blas_threads.h"
#include "engine/dense_kernel.h"
#include "engine/error.h"
#include "engine/scorer.h"

#include <cblas.h>
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdlib>

namespace marquee {
namespace {

constexpr size_t kSparseUsers = 32;                // users per sparse block (4 AVX2 / 2 AVX-512 registers)
constexpr size_t kFusedMicroBlocks = 16;           // most micro-blocks per fused work item (192 users AVX-512, 96 AVX2)
constexpr size_t kFusedSelectorBytes = 512 << 10;  // the item's selectors stay in L2: fewer users at large K
constexpr size_t kFusedMaxDim = 1024;              // wider vectors take the BLAS tiles
constexpr size_t kDenseUsers = 64;                 // users per BLAS work item
constexpr size_t kDenseTitles = 1024;              // titles per dense tile: 64 x 1024 floats = 256 KiB, in L2
constexpr size_t kDenseMinSplitTitles = 2048;      // a title range of a split work item is at least this

class CpuScorer final : public Scorer {
 public:
  CpuScorer(const TitleMatrix& titles, const CpuScorerOptions& options)
      : titles_(titles), threads_(options.threads > 0 ? options.threads : omp_get_max_threads()) {
    if (options.path == CpuScoringPath::Auto)
      sparse_ = titles.density() < options.sparse_density_threshold;
    else
      sparse_ = options.path == CpuScoringPath::Sparse;
    CpuDenseKernel choice = options.dense_kernel;
    if (choice == CpuDenseKernel::Auto) {
      const char* env = std::getenv("MARQUEE_DENSE_KERNEL");  // A/B measurements
      if (env && *env) choice = parse_cpu_dense_kernel(env);
    }
    if (options.precision == CpuPrecision::Bf16) {
      // A precision of the dense products: the dense path, with the one kernel that has it.
      if (!detail::dense_kernel_avx512_bf16_supported())
        throw ArgumentError("--cpu-precision bf16 needs AVX-512 BF16, which this CPU (or OS) does not support");
      if (choice != CpuDenseKernel::Auto && choice != CpuDenseKernel::Avx512)
        throw ArgumentError("--cpu-precision bf16 runs on the avx512 kernel only, not " +
                            std::string(choice == CpuDenseKernel::Avx2 ? "avx2" : "blas"));
      sparse_ = false;
      kernel_ = detail::dense_kernel_avx512_bf16();
    } else {
      if (choice == CpuDenseKernel::Avx512 && !detail::dense_kernel_avx512_supported())
        throw ArgumentError("the avx512 dense kernel was asked for, but this CPU (or OS) does not support AVX-512");
      fused_ = choice == CpuDenseKernel::Avx2 || choice == CpuDenseKernel::Avx512 ||
               (choice == CpuDenseKernel::Auto && titles.dim() <= kFusedMaxDim);
      kernel_ = choice == CpuDenseKernel::Avx2     ? detail::dense_kernel_avx2()
                : choice == CpuDenseKernel::Avx512 ? detail::dense_kernel_avx512()
                                                   : detail::choose_dense_kernel();
    }
    if (!sparse_ && fused_) {
      const size_t slots = kernel_.slots(titles.dim());
      packed_.resize((titles.num_titles() + kernel_.nr - 1) / kernel_.nr * kernel_.nr * slots);
      detail::pack_panels(titles.dense().data(), titles.num_titles(), titles.dim(), kernel_.nr, kernel_.bf16,
                          packed_.data());
    }
  }

  std::string describe() const override {
    return fmt::format("cpu ({} titles{}, density {:.3f}, {} threads)", sparse_ ? "sparse" : "dense",
                       sparse_  ? ""
                       : fused_ ? fmt::format(", {} kernel", kernel_.name)
                                : ", blas tiles",
                       titles_.density(), threads_);
  }
  size_t num_titles() const override { return titles_.num_titles(); }
  size_t dim() const override { return titles_.dim(); }

  void search(const UserBatchView& batch, size_t k, TopKResult& out) override {
    check_search_args(batch, k);
    out.resize(batch.count, k);
    if (batch.count == 0) return;
    if (sparse_)
      search_sparse(batch, k, out);
    else if (fused_)
      search_dense(batch, k, out);
    else
      search_dense_blas(batch, k, out);
  }

 private:
  static void emit(TopKSelector& sel, size_t user, std::vector<ScoredTitle>& buf, TopKResult& out) {
    sel.take_sorted(buf);
    out.counts[user] = uint32_t(buf.size());
    for (size_t r = 0; r < buf.size(); ++r) {
      out.titles[user * out.k + r] = buf[r].title;
      out.scores[user * out.k + r] = buf[r].score;
    }
  }

  void search_sparse(const UserBatchView& batch, size_t k, TopKResult& out) const {
    const size_t dim = titles_.dim();
    const size_t n_titles = titles_.num_titles();
    const uint64_t* row_ptr = titles_.row_ptr().data();
    const uint32_t* col = titles_.col_idx().data();
    const float* val = titles_.values().data();
    const size_t blocks = (batch.count + kSparseUsers - 1) / kSparseUsers;

#pragma omp parallel num_threads(threads_)
    {
      std::vector<float> ut(dim * kSparseUsers);  // tag-major: ut[d * 32 + i]
      std::vector<TopKSelector> sel(kSparseUsers, TopKSelector(k));
      std::vector<ScoredTitle> buf;
      alignas(64) float thr[kSparseUsers];
      alignas(64) float acc[kSparseUsers];
      const uint32_t* ex_cur[kSparseUsers];
      const uint32_t* ex_end[kSparseUsers];

#pragma omp for schedule(dynamic, 1)
      for (size_t b = 0; b < blocks; ++b) {
        const size_t u0 = b * kSparseUsers;
        const size_t nb = std::min(kSparseUsers, batch.count - u0);
        for (size_t i = 0; i < kSparseUsers; ++i) {
          const float* v = batch.vectors + (u0 + i) * dim;
          for (size_t d = 0; d < dim; ++d) ut[d * kSparseUsers + i] = i < nb ? v[d] : 0.0f;
          // Padding lanes never pass; real lanes accept everything until their selector is full.
          thr[i] = i < nb ? -INFINITY : INFINITY;
          if (i < nb) {
            sel[i].reset(k);
            const Exclusions* ex = batch.exclusions;
            ex_cur[i] = ex ? ex->titles.data() + ex->offsets[u0 + i] : nullptr;
            ex_end[i] = ex ? ex->titles.data() + ex->offsets[u0 + i + 1] : nullptr;
          }
        }
        for (size_t t = 0; t < n_titles; ++t) {
          for (size_t i = 0; i < kSparseUsers; ++i) acc[i] = 0.0f;
          for (uint64_t p = row_ptr[t]; p < row_ptr[t + 1]; ++p) {
            const float w = val[p];
            const float* src = ut.data() + size_t(col[p]) * kSparseUsers;
            for (size_t i = 0; i < kSparseUsers; ++i) acc[i] += w * src[i];
          }
          int pass = 0;
          for (size_t i = 0; i < kSparseUsers; ++i) pass |= acc[i] >= thr[i];
          if (!pass) continue;
          for (size_t i = 0; i < nb; ++i) {
            if (!(acc[i] >= thr[i])) continue;
            while (ex_cur[i] != ex_end[i] && *ex_cur[i] < t) ++ex_cur[i];
            if (ex_cur[i] != ex_end[i] && *ex_cur[i] == t) continue;  // excluded
            sel[i].push(uint32_t(t), acc[i]);
            if (sel[i].full()) thr[i] = sel[i].worst().score;
          }
        }
        for (size_t i = 0; i < nb; ++i) emit(sel[i], u0 + i, buf, out);
      }
    }
  }

  // The fused path (engine/dense_kernel.h): one OpenMP team; a work item is a block of users
  // (packed once) against a range of title panels. Each panel is computed against every micro-block
  // of the item while it sits in L1, the scores stay in registers until compared with the users'
  // thresholds, and only the candidates that pass reach the selectors. Titles are visited in
  // increasing order for every user, so exclusions are a cursor walk and ties need no care.
  void search_dense(const UserBatchView& batch, size_t k, TopKResult& out) const {
    const size_t dim = titles_.dim(), n_titles = titles_.num_titles();
    const size_t mr = kernel_.mr, nr = kernel_.nr, slots = kernel_.slots(dim);
    // Every panel visits every user's selector, so the item's selectors must stay in cache: at
    // K = 1000 (16 KiB of candidates a user) an item of 192 users thrashed L2 and ran at half the
    // speed of the BLAS tiles at 32 dims; smaller items re-read the titles more often, which is cheap.
    const size_t selector_bytes = (k >= TopKSelector::kBufferFromK ? 2 * k : k) * sizeof(uint64_t);
    const size_t item_users =
        mr * std::clamp<size_t>(kFusedSelectorBytes / (mr * selector_bytes), 1, kFusedMicroBlocks);
    const size_t n_panels = (n_titles + nr - 1) / nr;
    const size_t blocks = (batch.count + item_users - 1) / item_users;
    const size_t splits = title_splits(blocks);
    const size_t items = blocks * splits;
    std::vector<std::vector<TopKSelector>> partial(splits > 1 ? items : 0);

#pragma omp parallel num_threads(threads_)
    {
      std::vector<float> users(item_users * slots);
      std::vector<float> scores(mr * nr);
      std::vector<uint32_t> pass(mr);
      std::vector<float> threshold(item_users);
      std::vector<const uint32_t*> ex_cur(item_users), ex_end(item_users);
      std::vector<TopKSelector> sel;
      std::vector<ScoredTitle> buf;
#pragma omp for schedule(dynamic, 1)
      for (size_t item = 0; item < items; ++item) {
        const size_t u0 = (item / splits) * item_users, split = item % splits;
        const size_t nu = std::min(item_users, batch.count - u0);
        const size_t p_begin = split * n_panels / splits, p_end = (split + 1) * n_panels / splits;
        const size_t micro_blocks = (nu + mr - 1) / mr;
        for (size_t mb = 0; mb < micro_blocks; ++mb)  // zero rows pad the last micro-block
          detail::pack_panels(batch.vectors + (u0 + mb * mr) * dim, std::min(mr, nu - mb * mr), dim, mr, kernel_.bf16,
                              users.data() + mb * mr * slots);
        reset_selectors(sel, nu, k);
        for (size_t i = 0; i < nu; ++i) {
          threshold[i] = -FLT_MAX;  // until a selector is full every finite score is a candidate
          ex_cur[i] = ex_end[i] = nullptr;
          if (const Exclusions* ex = batch.exclusions) {
            ex_end[i] = ex->titles.data() + ex->offsets[u0 + i + 1];
            ex_cur[i] = std::lower_bound(ex->titles.data() + ex->offsets[u0 + i], ex_end[i], uint32_t(p_begin * nr));
          }
        }
        for (size_t p = p_begin; p < p_end; ++p) {
          const float* panel = packed_.data() + p * nr * slots;
          for (size_t mb = 0; mb < micro_blocks; ++mb) {
            kernel_.block(users.data() + mb * mr * slots, panel, slots, threshold.data() + mb * mr, scores.data(),
                          pass.data());
            for (size_t r = 0, i = mb * mr; r < mr && i < nu; ++r, ++i) {
              for (uint32_t m = pass[r]; m; m &= m - 1) {
                const size_t j = size_t(__builtin_ctz(m)), t = p * nr + j;
                if (t >= n_titles) break;  // the padding of the last panel
                while (ex_cur[i] != ex_end[i] && *ex_cur[i] < t) ++ex_cur[i];
                if (ex_cur[i] != ex_end[i] && *ex_cur[i] == t) continue;  // excluded
                sel[i].push(uint32_t(t), scores[r * nr + j]);
              }
              if (pass[r] && sel[i].full()) threshold[i] = sel[i].worst().score;
            }
          }
        }
        finish_item(sel, u0, nu, splits > 1 ? &partial[item] : nullptr, buf, out);
      }
    }
    if (splits > 1) merge_splits(partial, item_users, splits, batch.count, k, out);
  }

  // Title ranges per block of users, for both dense paths: one when there are enough blocks for
  // every thread; otherwise (the server's small batches) the titles are split so every core has
  // work, each range at least kDenseMinSplitTitles titles.
  size_t title_splits(size_t blocks) const {
    const size_t threads = size_t(threads_);
    if (blocks >= threads) return 1;
    return std::max<size_t>(1, std::min((threads + blocks - 1) / blocks, titles_.num_titles() / kDenseMinSplitTitles));
  }

  // The first `nu` selectors emptied for a new work item. Reset, not rebuilt: their buffers keep
  // their capacity from item to item (rebuilding them freed and re-faulted megabytes per item at
  // K = 1000).
  static void reset_selectors(std::vector<TopKSelector>& sel, size_t nu, size_t k) {
    if (sel.size() < nu) sel.resize(nu, TopKSelector(k));
    for (size_t i = 0; i < nu; ++i) sel[i].reset(k);
  }

  // The end of a work item: its users' top-K written out, or (a split item) its selectors kept for
  // merge_splits.
  static void finish_item(std::vector<TopKSelector>& sel, size_t u0, size_t nu, std::vector<TopKSelector>* keep,
                          std::vector<ScoredTitle>& buf, TopKResult& out) {
    if (!keep) {
      for (size_t i = 0; i < nu; ++i) emit(sel[i], u0 + i, buf, out);
      return;
    }
    *keep = std::move(sel);
    sel = {};
  }

  // Few users: each user block's title ranges were searched apart; the partial lists are merged
  // (the same top-K as one pass: the order is total).
  static void merge_splits(std::vector<std::vector<TopKSelector>>& partial, size_t block_users, size_t splits,
                           size_t n_users, size_t k, TopKResult& out) {
    std::vector<ScoredTitle> buf;
    const size_t blocks = (n_users + block_users - 1) / block_users;
    for (size_t b = 0; b < blocks; ++b) {
      const size_t u0 = b * block_users, nu = std::min(block_users, n_users - u0);
      for (size_t i = 0; i < nu; ++i) {
        TopKSelector merged(k);
        for (size_t split = 0; split < splits; ++split) {
          partial[b * splits + split][i].take_sorted(buf);
          for (const ScoredTitle& c : buf) merged.push(c.title, c.score);
        }
        emit(merged, u0 + i, buf, out);
      }
    }
  }

  // The BLAS path, for dimensions past kFusedMaxDim (the micro-kernel does not block the dimension)
  // and as the measured alternative (MARQUEE_DENSE_KERNEL=blas): per thread, single-threaded SGEMM
  // into an L2-sized tile, consumed by the selection while in cache.
  void search_dense_blas(const UserBatchView& batch, size_t k, TopKResult& out) const {
    const size_t dim = titles_.dim();
    const size_t n_titles = titles_.num_titles();
    const size_t blocks = (batch.count + kDenseUsers - 1) / kDenseUsers;
    const size_t splits = title_splits(blocks);
    const size_t items = blocks * splits;
    std::vector<std::vector<TopKSelector>> partial(splits > 1 ? items : 0);
    const SingleThreadedBlas one_blas_thread;  // the work items are the parallelism

#pragma omp parallel num_threads(threads_)
    {
      std::vector<float> tile(std::min(kDenseUsers, batch.count) * std::min(kDenseTitles, n_titles));
      std::vector<TopKSelector> sel;
      std::vector<ScoredTitle> buf;
#pragma omp for schedule(dynamic, 1)
      for (size_t item = 0; item < items; ++item) {
        const size_t u0 = (item / splits) * kDenseUsers, split = item % splits;
        const size_t nu = std::min(kDenseUsers, batch.count - u0);
        const size_t t_begin = split * n_titles / splits, t_end = (split + 1) * n_titles / splits;
        reset_selectors(sel, nu, k);
        for (size_t t0 = t_begin; t0 < t_end; t0 += kDenseTitles) {
          const size_t nt = std::min(kDenseTitles, t_end - t0);
          // tile[nu x nt] = users[nu x dim] * titles[nt x dim]^T
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(nu), int(nt), int(dim), 1.0f,
                      batch.vectors + u0 * dim, int(dim), titles_.row(t0), int(dim), 0.0f, tile.data(), int(nt));
          for (size_t i = 0; i < nu; ++i) {
            float* row = tile.data() + i * nt;
            if (const Exclusions* ex = batch.exclusions) {
              const uint32_t* first = ex->titles.data() + ex->offsets[u0 + i];
              const uint32_t* last = ex->titles.data() + ex->offsets[u0 + i + 1];
              for (const uint32_t* e = std::lower_bound(first, last, uint32_t(t0)); e != last && *e < t0 + nt; ++e)
                row[*e - t0] = -INFINITY;
            }
            sel[i].push_row(uint32_t(t0), row, nt);
          }
        }
        finish_item(sel, u0, nu, splits > 1 ? &partial[item] : nullptr, buf, out);
      }
    }
    if (splits > 1) merge_splits(partial, kDenseUsers, splits, batch.count, k, out);
  }

  TitleMatrix titles_;
  int threads_;
  bool sparse_ = true;
  bool fused_ = true;
  detail::DenseKernel kernel_;
  std::vector<float> packed_;  // titles in the kernel's panels (dense path only)
};

}  // namespace

std::unique_ptr<Scorer> make_cpu_scorer(const TitleMatrix& titles, const CpuScorerOptions& options) {
  return std::make_unique<CpuScorer>(titles, options);
}

}  // namespace marquee
