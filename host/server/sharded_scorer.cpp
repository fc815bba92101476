#include "host/server/sharded_scorer.h"

#include "engine/error.h"
#include "host/backend/resolver.h"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace marquee::server {
namespace {

class ShardedScorer final : public Scorer {
 public:
  ShardedScorer(const TitleMatrix& titles, size_t shards, CpuScorerOptions cpu)
      : n_titles_(titles.num_titles()), dim_(titles.dim()) {
    MARQUEE_CHECK_ARG(shards >= 1 && shards <= n_titles_, "title shards must be between 1 and {}; got {}", n_titles_,
                      shards);
    if (cpu.path == CpuScoringPath::Auto)
      cpu.path = titles.density() < cpu.sparse_density_threshold ? CpuScoringPath::Sparse : CpuScoringPath::Dense;
    sparse_ = cpu.path == CpuScoringPath::Sparse;
    cpu.threads = 1;
    ScorerOptions options;
    options.cpu = cpu;
    for (size_t s = 0; s < shards; ++s) {
      const size_t first = s * n_titles_ / shards, last = (s + 1) * n_titles_ / shards;
      std::vector<float> rows(titles.row(first), titles.row(first) + (last - first) * dim_);
      const TitleMatrix part = TitleMatrix::from_rows(last - first, dim_, std::move(rows));
      Shard sh;
      sh.first = uint32_t(first);
      sh.count = last - first;
      sh.scorer = choose_scorer(Backend::Cpu, part, options).scorer;  // the CPU scorer keeps its own copy
      shards_.push_back(std::move(sh));
    }
    for (size_t s = 1; s < shards_.size(); ++s) helpers_.emplace_back([this, s] { helper(s); });
  }

  ~ShardedScorer() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : helpers_) t.join();
  }

  std::string describe() const override {
    return fmt::format("cpu ({} titles, {} title shards x 1 thread)", sparse_ ? "sparse" : "dense", shards_.size());
  }
  size_t num_titles() const override { return n_titles_; }
  size_t dim() const override { return dim_; }

  void search(const UserBatchView& batch, size_t k, TopKResult& out) override {
    check_search_args(batch, k);
    out.resize(batch.count, k);
    if (batch.count == 0) return;
    // Each range gets the batch with its exclusions shifted into its own title indices.
    for (Shard& sh : shards_) {
      sh.k = std::min(k, sh.count);
      sh.ex = Exclusions{};
      if (batch.exclusions) {
        sh.ex.offsets.reserve(batch.count + 1);
        for (size_t u = 0; u < batch.count; ++u) {
          const uint32_t* b = batch.exclusions->titles.data() + batch.exclusions->offsets[u];
          const uint32_t* e = batch.exclusions->titles.data() + batch.exclusions->offsets[u + 1];
          for (const uint32_t* p = std::lower_bound(b, e, sh.first); p != e && *p < sh.first + sh.count; ++p)
            sh.ex.titles.push_back(*p - sh.first);
          sh.ex.offsets.push_back(sh.ex.titles.size());
        }
      }
      sh.batch = UserBatchView{batch.count, batch.dim, batch.vectors, batch.exclusions ? &sh.ex : nullptr};
      sh.error.clear();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++round_;
      pending_ = helpers_.size();
    }
    cv_.notify_all();
    run_shard(0);
    {
      std::unique_lock<std::mutex> lock(mu_);
      done_cv_.wait(lock, [&] { return pending_ == 0; });
    }
    for (const Shard& sh : shards_)
      if (!sh.error.empty()) MARQUEE_THROW_AS(Error, "title shard at {}: {}", sh.first, sh.error);

    // Merge: the global top-K is the top-K of the per-range top-K lists under the same total order.
    std::vector<ScoredTitle> merged;
    for (size_t u = 0; u < batch.count; ++u) {
      merged.clear();
      for (const Shard& sh : shards_)
        for (size_t r = 0; r < sh.result.counts[u]; ++r)
          merged.push_back({sh.result.titles[u * sh.k + r] + sh.first, sh.result.scores[u * sh.k + r]});
      const size_t n = std::min(k, merged.size());
      std::partial_sort(merged.begin(), merged.begin() + n, merged.end(), ranks_before);
      out.counts[u] = uint32_t(n);
      for (size_t r = 0; r < n; ++r) {
        out.titles[u * k + r] = merged[r].title;
        out.scores[u * k + r] = merged[r].score;
      }
    }
  }

 private:
  struct Shard {
    uint32_t first = 0;
    size_t count = 0;
    std::unique_ptr<Scorer> scorer;
    size_t k = 0;
    Exclusions ex;
    UserBatchView batch;
    TopKResult result;
    std::string error;
  };

  void run_shard(size_t s) {
    Shard& sh = shards_[s];
    try {
      sh.scorer->search(sh.batch, sh.k, sh.result);
    } catch (const std::exception& e) {
      sh.error = e.what();
    }
  }

  void helper(size_t s) {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || round_ != seen; });
      if (stop_) return;
      seen = round_;
      lock.unlock();
      run_shard(s);
      lock.lock();
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }

  size_t n_titles_, dim_;
  bool sparse_ = true;
  std::vector<Shard> shards_;
  std::vector<std::thread> helpers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  uint64_t round_ = 0;
  size_t pending_ = 0;
  bool stop_ = false;
};

}  // namespace

std::unique_ptr<Scorer> make_sharded_cpu_scorer(const TitleMatrix& titles, size_t shards, CpuScorerOptions cpu) {
  return std::make_unique<ShardedScorer>(titles, shards, cpu);
}

}  // namespace marquee::server
