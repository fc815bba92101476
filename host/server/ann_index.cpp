#include "host/server/ann_index.h"

#include "engine/error.h"
#include "host/io/atomic_file.h"

#include <faiss/AutoTune.h>
#include <faiss/Index.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

namespace marquee::server {
namespace {

std::string sidecar(const std::string& path) { return path + ".json"; }

}  // namespace

AnnIndex::AnnIndex(std::unique_ptr<faiss::Index> index, AnnIndexInfo info)
    : index_(std::move(index)), info_(std::move(info)) {}
AnnIndex::~AnnIndex() = default;

size_t AnnIndex::rows() const { return size_t(index_->ntotal); }
size_t AnnIndex::dim() const { return size_t(index_->d); }

std::string AnnIndex::describe() const {
  std::string s = fmt::format("faiss {} over {} {} (dim {})", info_.factory, rows(), info_.over, dim());
  if (info_.recall >= 0)
    s += fmt::format(", recall@{} {:.4f} on {} queries", info_.recall_k, info_.recall, info_.recall_queries);
  return s;
}

std::unique_ptr<AnnIndex> AnnIndex::build(const std::string& factory, const float* vectors, size_t rows, size_t dim,
                                          AnnIndexInfo info) {
  MARQUEE_CHECK_ARG(!factory.empty(), "--index needs a FAISS index_factory string such as HNSW32, IVF4096,Flat or Flat");
  MARQUEE_CHECK_ARG(rows >= 1 && dim >= 1, "cannot build an index over {} vectors of dimension {}", rows, dim);
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<faiss::Index> index;
  try {
    index.reset(faiss::index_factory(int(dim), factory.c_str(), faiss::METRIC_INNER_PRODUCT));
  } catch (const faiss::FaissException& e) {
    MARQUEE_THROW_AS(ArgumentError, "--index '{}' is not a FAISS index_factory string FAISS can build: {}", factory,
                     e.msg);
  }
  try {
    if (!index->is_trained) index->train(faiss::Index::idx_t(rows), vectors);
    index->add(faiss::Index::idx_t(rows), vectors);
  } catch (const faiss::FaissException& e) {
    MARQUEE_THROW_AS(ArgumentError, "building the '{}' index over {} vectors failed: {}", factory, rows, e.msg);
  }
  info.factory = factory;
  info.rows = rows;
  info.dim = dim;
  info.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return std::unique_ptr<AnnIndex>(new AnnIndex(std::move(index), std::move(info)));
}

bool AnnIndex::read_info(const std::string& path, AnnIndexInfo& info) {
  std::ifstream in(sidecar(path));
  if (!in) return false;
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    info.factory = j.at("factory").get<std::string>();
    info.over = j.value("over", "titles");
    info.rows = j.at("rows").get<size_t>();
    info.dim = j.at("dim").get<size_t>();
    info.fingerprint = j.at("fingerprint").get<uint64_t>();
    info.build_seconds = j.value("build_seconds", 0.0);
    info.recall = j.value("recall", -1.0);
    info.recall_k = j.value("recall_k", size_t(0));
    info.recall_queries = j.value("recall_queries", size_t(0));
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::unique_ptr<AnnIndex> AnnIndex::load(const std::string& path) {
  AnnIndexInfo info;
  MARQUEE_CHECK_INPUT(read_info(path, info), "index {}: its sidecar {} is missing or unreadable", path, sidecar(path));
  std::unique_ptr<faiss::Index> index;
  try {
    index.reset(faiss::read_index(path.c_str()));
  } catch (const faiss::FaissException& e) {
    MARQUEE_THROW_AS(InputError, "cannot read the index {}: {}", path, e.msg);
  }
  MARQUEE_CHECK_INPUT(size_t(index->ntotal) == info.rows && size_t(index->d) == info.dim,
                      "index {} holds {} vectors of dimension {} but its sidecar says {} of dimension {}", path,
                      index->ntotal, index->d, info.rows, info.dim);
  return std::unique_ptr<AnnIndex>(new AnnIndex(std::move(index), std::move(info)));
}

void AnnIndex::save(const std::string& path) const {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  try {
    faiss::write_index(index_.get(), tmp.c_str());
  } catch (const faiss::FaissException& e) {
    std::filesystem::remove(tmp);
    MARQUEE_THROW_AS(InputError, "cannot write the index to {}: {}", path, e.msg);
  }
  std::filesystem::rename(tmp, path);
  const nlohmann::json j{{"factory", info_.factory},
                         {"over", info_.over},
                         {"rows", info_.rows},
                         {"dim", info_.dim},
                         {"fingerprint", info_.fingerprint},
                         {"build_seconds", info_.build_seconds},
                         {"recall", info_.recall},
                         {"recall_k", info_.recall_k},
                         {"recall_queries", info_.recall_queries}};
  write_file_atomically(sidecar(path), j.dump(2) + "\n");
}

void AnnIndex::set_search_params(const std::string& params) {
  if (params.empty()) return;
  try {
    faiss::ParameterSpace().set_index_parameters(index_.get(), params.c_str());
  } catch (const faiss::FaissException& e) {
    MARQUEE_THROW_AS(ArgumentError, "--index-params '{}' does not apply to a {} index: {}", params, info_.factory,
                     e.msg);
  }
}

void AnnIndex::search(const UserBatchView& batch, size_t k, TopKResult& out) const {
  MARQUEE_CHECK_ARG(k >= 1 && k <= rows(), "K must be between 1 and the index size ({}); got {}", rows(), k);
  MARQUEE_CHECK_ARG(batch.dim == dim(), "query vectors have dimension {} but the index has {}", batch.dim, dim());
  MARQUEE_CHECK_ARG(batch.exclusions == nullptr || batch.exclusions->users() == batch.count,
                    "exclusion lists cover {} queries but the batch has {}",
                    batch.exclusions ? batch.exclusions->users() : 0, batch.count);
  out.resize(batch.count, k);
  if (batch.count == 0) return;
  size_t longest = 0;
  if (const Exclusions* ex = batch.exclusions)
    for (size_t q = 0; q < batch.count; ++q) longest = std::max<size_t>(longest, ex->offsets[q + 1] - ex->offsets[q]);
  const size_t fetch = std::min(rows(), k + longest);
  std::vector<float> scores(batch.count * fetch);
  std::vector<faiss::Index::idx_t> labels(batch.count * fetch);
  try {
    index_->search(faiss::Index::idx_t(batch.count), batch.vectors, faiss::Index::idx_t(fetch), scores.data(), labels.data());
  } catch (const faiss::FaissException& e) {
    MARQUEE_THROW_AS(BackendError, "FAISS search failed: {}", e.msg);
  }
  std::vector<ScoredTitle> kept;
  for (size_t q = 0; q < batch.count; ++q) {
    const uint32_t* ex_first = nullptr;
    const uint32_t* ex_last = nullptr;
    if (const Exclusions* ex = batch.exclusions) {
      ex_first = ex->titles.data() + ex->offsets[q];
      ex_last = ex->titles.data() + ex->offsets[q + 1];
    }
    kept.clear();
    for (size_t i = 0; i < fetch; ++i) {
      const faiss::Index::idx_t id = labels[q * fetch + i];
      if (id < 0) continue;  // fewer neighbours found than asked for
      const uint32_t row = uint32_t(id);
      if (ex_first && std::binary_search(ex_first, ex_last, row)) continue;
      kept.push_back({row, scores[q * fetch + i]});
    }
    std::sort(kept.begin(), kept.end(), ranks_before);
    const size_t n = std::min(k, kept.size());
    out.counts[q] = uint32_t(n);
    for (size_t r = 0; r < n; ++r) {
      out.titles[q * k + r] = kept[r].title;
      out.scores[q * k + r] = kept[r].score;
    }
  }
}

double AnnIndex::measure_recall(Scorer& exact, const float* queries, size_t count, size_t k) {
  k = std::min(k, rows());
  if (count == 0 || k == 0) return -1;
  TopKResult want, got;
  const UserBatchView batch{count, dim(), queries, nullptr};
  exact.search(batch, k, want);
  search(batch, k, got);
  double sum = 0;
  for (size_t q = 0; q < count; ++q) {
    std::vector<uint32_t> a(want.titles.begin() + q * k, want.titles.begin() + q * k + want.counts[q]);
    std::vector<uint32_t> b(got.titles.begin() + q * k, got.titles.begin() + q * k + got.counts[q]);
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    std::vector<uint32_t> common;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(common));
    sum += a.empty() ? 1.0 : double(common.size()) / double(a.size());
  }
  info_.recall = sum / double(count);
  info_.recall_k = k;
  info_.recall_queries = count;
  return info_.recall;
}

}  // namespace marquee::server
