// Personalised artwork (docs/artwork.md): a title may have several artwork variants, each tagged by
// what it emphasises. A variant's vector lives in the title vectors' tag space, built the same way
// (expert weight x the catalogue's IDF, L2-normalised: TitleMatrix::idf() and l2_normalise()), so
// the user's tag-space profile vector ranks a title's variants by cosine.
//
// The rule, shared by every backend: for a recommended (user, title), the variant with the largest
// inner product with the user's vector; a tie goes to the variant listed first in artwork.csv; a
// title without variants gets kNoArtwork (its default artwork). A user vector that meets none of
// the variants' tags scores every variant 0, so the tie-break gives the first-listed variant.
// Inner products accumulate in the variant's CSR order (tags ascending) with a fused multiply-add,
// in single precision, so that the CPU and the CUDA twin pick bit-for-bit the same variant.
#pragma once

#include "engine/explain.h"
#include "engine/scorer.h"
#include "engine/title_matrix.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace marquee {

/// "No variant": the title has none, or the rank is past the user's result count.
constexpr uint32_t kNoArtwork = UINT32_MAX;

/// Artwork variants of the catalogue's titles, as sparse tag-space vectors.
class Artwork {
 public:
  size_t num_titles() const { return title_ptr_.empty() ? 0 : title_ptr_.size() - 1; }
  size_t dim() const { return dim_; }
  size_t num_variants() const { return artwork_ids_.size(); }
  /// Titles with at least one variant.
  size_t titles_with_variants() const { return titles_with_variants_; }

  /// Title t's variants are the indices [title_ptr()[t], title_ptr()[t+1]), in the order they were
  /// first listed in the file.
  const std::vector<uint32_t>& title_ptr() const { return title_ptr_; }
  /// Variant v's vector in CSR form: [row_ptr()[v], row_ptr()[v+1]) over col_idx()/values(), tags
  /// ascending.
  const std::vector<uint64_t>& row_ptr() const { return row_ptr_; }
  const std::vector<uint32_t>& col_idx() const { return col_idx_; }
  const std::vector<float>& values() const { return values_; }

  const std::string& artwork_id(uint32_t variant) const { return artwork_ids_.at(variant); }
  uint32_t title_of(uint32_t variant) const { return titles_.at(variant); }

 private:
  friend class ArtworkBuilder;
  size_t dim_ = 0;
  size_t titles_with_variants_ = 0;
  std::vector<uint32_t> title_ptr_;
  std::vector<uint64_t> row_ptr_;
  std::vector<uint32_t> col_idx_;
  std::vector<float> values_;
  std::vector<std::string> artwork_ids_;
  std::vector<uint32_t> titles_;
};

/// Collects (title, artwork_id, tag, weight) rows in file order, then builds the vectors.
class ArtworkBuilder {
 public:
  ArtworkBuilder(size_t num_titles, size_t num_tags);
  /// Adds `tag` with expert weight `weight` to variant `artwork_id` of `title`; the variant is
  /// created by its first row (artwork ids are per title). Returns false, adding nothing, when the
  /// variant already carries the tag. Throws ArgumentError for indices outside the catalogue or a
  /// weight outside (0, 1].
  bool add(uint32_t title, const std::string& artwork_id, uint32_t tag, float weight);
  size_t variants() const { return variants_.size(); }
  /// Variant vectors: weight x titles.idf()[tag], L2-normalised, as TitleMatrix::build forms title
  /// vectors (a variant tagged exactly like its title gets the title's vector). `titles` must be
  /// the catalogue's TitleMatrix::build (it has the IDF weights).
  Artwork build(const TitleMatrix& titles) const;

 private:
  struct Variant {
    uint32_t title = 0;
    std::string artwork_id;
    std::vector<std::pair<uint32_t, float>> tags;  // (tag, weight), file order
  };
  size_t num_titles_, num_tags_;
  std::vector<Variant> variants_;
  std::vector<std::vector<uint32_t>> by_title_;  // a title's variants (a handful: searched linearly)
  uint32_t last_ = kNoArtwork;                   // the previous row's variant (rows come grouped)
};

/// The inner product of `user` (artwork.dim() floats) with variant `v`, accumulated with fmaf in
/// CSR order: the number both backends compare.
float artwork_variant_score(const Artwork& artwork, const float* user, uint32_t variant);

struct ArtworkPick {
  uint32_t variant = kNoArtwork;  // kNoArtwork: the title has no variants (its default artwork)
  float score = 0;                // the chosen variant's inner product with the user's vector
};

/// The documented rule for one (user, title): the best-scoring variant, ties to the first listed.
ArtworkPick choose_artwork(const Artwork& artwork, const float* user, uint32_t title);

/// Chooses the artwork of every selected (user, title) of a batch's top-K: the CPU reference and a
/// CUDA twin (engine/backend.h, cuda::make_artwork_chooser) with the same choices.
class ArtworkChooser {
 public:
  virtual ~ArtworkChooser() = default;
  virtual std::string describe() const = 0;
  /// users: the batch's tag-space profile vectors (exclusions are not read). For every user u and
  /// rank r < result.counts[u], chosen[u * result.k + r] is the variant chosen for title
  /// result.titles[u * result.k + r]; every other slot (and titles without variants) gets kNoArtwork.
  /// `chosen` is resized to users.count * result.k.
  virtual void choose(const UserBatchView& users, const TopKResult& result, std::vector<uint32_t>& chosen) = 0;

 protected:
  /// Validation shared by the backends, called first by choose().
  static void check_choose_args(const Artwork& artwork, const UserBatchView& users, const TopKResult& result);
};

/// The CPU chooser over `artwork` (kept by reference: it must outlive the chooser). threads: 0 =
/// OpenMP default.
std::unique_ptr<ArtworkChooser> make_cpu_artwork_chooser(const Artwork& artwork, int threads = 0);

/// Why a title shows the artwork it shows to a user (`marquee explain --artwork`).
struct ArtworkExplanation {
  struct Candidate {
    uint32_t variant = 0;
    float score = 0;
  };
  uint32_t chosen = kNoArtwork;       // kNoArtwork: the title has no variants
  std::vector<Candidate> candidates;  // every variant of the title, in file order
  std::vector<TagContribution> tags;  // user[tag] x variant[tag] of the chosen variant, largest first
  float margin = 0;                   // chosen score minus the best other variant's (0 with one variant)
  bool tie_break = false;             // another variant scored exactly the same: the first listed won
};

ArtworkExplanation explain_artwork(const Artwork& artwork, const float* user, uint32_t title, size_t top_tags = 5);

}  // namespace marquee
