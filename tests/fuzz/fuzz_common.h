// Shared by the libFuzzer harnesses (tests/fuzz/*.cpp, docs/operations.md "Fuzzing and sanitizers").
//
// fuzz_data(): a small valid data set generated once per process into a scratch folder — a catalogue
// (marquee gen: 40 users, 60 titles, 24 tags), its events, a profiles file and a hybrid model folder —
// for the harnesses that need a catalogue or a valid file to start from. scratch_file(): a per-process
// path to write an input to when a reader only takes a path. expected(): runs a reader and swallows
// the errors it documents (InputError, ArgumentError); anything else escapes and libFuzzer reports it
// (an uncaught exception aborts: "deadly signal", with the exception's type and what() on stderr).
#pragma once

#include "engine/catalog.h"
#include "engine/error.h"
#include "engine/model.h"
#include "engine/title_matrix.h"
#include "host/io/model_dir.h"
#include "host/io/profile_io.h"
#include "host/io/rejects.h"
#include "host/jobs/generator.h"
#include "host/jobs/workspace.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace marquee::fuzz {

namespace fs = std::filesystem;

/// The recency reference for event files: the generator's events fall in 2026-01..2026-07.
constexpr int64_t kAsOf = 1785456000;  // 2026-07-31T00:00:00Z

/// A per-process scratch folder under $TMPDIR (removed at exit).
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/marquee-fuzz-XXXXXX";
    if (!::mkdtemp(templ.data())) std::abort();
    static const std::string keep = templ;
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(keep, ec);
    });
    return templ;
  }();
  return dir;
}

inline void write_file(const std::string& path, const void* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), std::streamsize(size));
  if (!out.good()) std::abort();  // the harness's own failure, not a finding in Marquee
}

/// Writes the fuzz input to SCRATCH/name and returns the path.
inline std::string scratch_file(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/" + name;
  write_file(path, data, size);
  return path;
}

/// Runs `fn`, swallowing the errors Marquee's readers document for bad input.
template <typename Fn>
void expected(Fn&& fn) {
  try {
    fn();
  } catch (const InputError&) {
  } catch (const ArgumentError&) {
  }
}

struct FuzzData {
  std::string root;        // SCRATCH/data
  std::string catalog;     // root/catalog
  std::string events;      // root/events.csv
  std::string profiles;    // root/profiles.bin
  std::string model_dir;   // root/model (hybrid: behaviour factors and title vectors as .npy)
  Catalog cat;
  TitleMatrix titles;
  UserProfiles all;        // every user's profile, built from the events
};

/// The data set, generated on first use. Logging is turned off (readers log rejected rows).
inline const FuzzData& fuzz_data() {
  static const FuzzData* data = [] {
    spdlog::set_level(spdlog::level::off);
    auto* d = new FuzzData;
    d->root = scratch_dir() + "/data";
    GenOptions g;
    g.users = 40;
    g.titles = 60;
    g.tags = 24;
    g.seed = 11;
    g.out_dir = d->root;
    generate_dataset(g);
    d->catalog = d->root + "/catalog";
    d->events = d->root + "/events.csv";
    RejectLog rejects("", false);
    Workspace ws = open_catalog(d->catalog, rejects);
    d->cat = std::move(ws.catalog);
    d->titles = std::move(ws.titles);
    EngagementOptions eo;
    eo.as_of = kAsOf;
    d->all = build_profiles_from_file(d->cat, d->titles, d->events, eo, rejects, nullptr, nullptr);
    d->profiles = d->root + "/profiles.bin";
    write_profiles(d->profiles, d->all, d->cat.num_titles(), d->cat.fingerprint());
    ModelParams p;
    p.als.factors = 4;
    p.als.iterations = 2;
    auto model = make_model(ModelKind::Hybrid, p);
    model->fit(d->titles, d->all);
    d->model_dir = d->root + "/model";
    save_model_dir(d->model_dir, *model, d->cat);
    // MARQUEE_FUZZ_EXPORT=DIR: a copy of the data set there (how the seed corpus was made).
    if (const char* to = std::getenv("MARQUEE_FUZZ_EXPORT"); to && *to) {
      write_profiles(d->root + "/profiles_3.bin", slice_profiles(d->all, 0, 3), d->cat.num_titles(),
                     d->cat.fingerprint());
      write_profiles(d->root + "/profiles_0.bin", slice_profiles(d->all, 0, 0), d->cat.num_titles(),
                     d->cat.fingerprint());
      fs::copy(d->root, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    }
    return d;
  }();
  return *data;
}

/// The input split at `sep` into at most `parts` pieces (the last keeps any further separators).
inline std::vector<std::string> split_input(const uint8_t* data, size_t size, char sep, size_t parts) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < size; ++i) {
    if (char(data[i]) == sep && out.size() < parts) out.emplace_back();
    else out.back().push_back(char(data[i]));
  }
  return out;
}

}  // namespace marquee::fuzz
