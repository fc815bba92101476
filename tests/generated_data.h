// Generated data for the tests: marquee::generate_dataset (host/jobs/generator.h, what `marquee gen`
// runs) into a scratch directory. make_generated() writes one set where a test asks;
// GeneratedDataTest<Suite> generates Suite::generator_options() once per test suite into a TempDir
// and gives dir()/catalog()/events() to its tests. (Host code: not for marquee_engine_tests.)
#pragma once

#include "host/jobs/generator.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace marquee::test {

/// The four parameters every test sets; the others keep GenOptions' defaults (set them after).
inline GenOptions gen_options(uint64_t users, uint32_t titles, uint32_t tags, uint64_t seed) {
  GenOptions g;
  g.users = users;
  g.titles = titles;
  g.tags = tags;
  g.seed = seed;
  return g;
}

/// One generated data set: ROOT/catalog/{tags,titles,title_tags}.csv, ROOT/events.csv and, with
/// artwork_variants > 0, ROOT/artwork.csv.
struct GeneratedSet {
  std::string root;
  GenOptions options;
  GenStats stats;

  std::string catalog() const { return root + "/catalog"; }
  std::string events() const { return root + "/events.csv"; }
  std::string artwork() const { return root + "/artwork.csv"; }
};

/// Generates `options` into `out_dir` (options.out_dir is set here).
inline GeneratedSet make_generated(const std::string& out_dir, GenOptions options) {
  options.out_dir = out_dir;
  GeneratedSet set;
  set.root = out_dir;
  set.stats = generate_dataset(options);
  set.options = options;
  return set;
}

/// Generates `options` into DIR/data.
inline GeneratedSet make_generated(const TempDir& dir, const GenOptions& options) {
  return make_generated(dir / "data", options);
}

/// A fixture base that generates one data set per test suite (per process: CTest runs each test in
/// its own) into a fresh TempDir, under dir() + "/data". Suite says what to generate:
///
///   class MySuite : public GeneratedDataTest<MySuite> {
///    public:
///     static GenOptions generator_options() { return gen_options(300, 400, 250, 7); }
///   };
///
/// A Suite that needs more set-up defines its own SetUpTestSuite and calls this one first.
template <class Suite>
class GeneratedDataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    data_ = make_generated(*dir_, Suite::generator_options());
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static std::string dir() { return dir_->path(); }
  static const GeneratedSet& data() { return data_; }
  static std::string catalog() { return data_.catalog(); }
  static std::string events() { return data_.events(); }

 private:
  static inline TempDir* dir_ = nullptr;
  static inline GeneratedSet data_;
};

}  // namespace marquee::test
