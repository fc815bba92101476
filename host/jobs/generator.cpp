// The generative model behind `marquee gen`. It only has to produce plausible data; the engine must
// never rely on it.
//   tags    Zipf popularity within each category (the first word of a list is the most popular).
//   titles  log-normal popularity (a few blockbusters), ~10-25 tags each, 70% films, 30% episodes.
//   users   a latent taste (liked and disliked tags), log-normal activity, a preferred local hour and
//           a UTC offset. Titles are drawn by popularity, kept with probability rising with taste,
//           and watched with an engagement (completion, skips, rewinds, stops) that follows taste.
// Only std::mt19937_64 is used from <random>: the std distributions differ between standard
// libraries, and the files must depend on the seed alone.
#include "host/jobs/generator.h"

#include "engine/error.h"
#include "host/io/atomic_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <queue>
#include <random>
#include <string_view>
#include <tuple>
#include <vector>

namespace marquee {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int64_t kDay = 86400;
constexpr int64_t kWindowDays = 181;  // sessions start on 2026-01-01 .. 2026-06-30, local time
constexpr size_t kFlushBytes = 1 << 20;

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  void reseed(uint64_t seed) { engine_.seed(seed); }
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }  // [0, 1)
  uint64_t below(uint64_t n) { return std::min<uint64_t>(n - 1, static_cast<uint64_t>(uniform() * n)); }
  int64_t range(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(below(hi - lo + 1)); }
  double between(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  bool chance(double p) { return uniform() < p; }
  double normal() { return std::sqrt(-2 * std::log(1 - uniform())) * std::cos(2 * kPi * uniform()); }
  double exponential(double mean) { return -mean * std::log(1 - uniform()); }

 private:
  std::mt19937_64 engine_;
};

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// Vose's alias method: O(1) draws by popularity, so a user costs the same with 1k or 10M titles.
class AliasTable {
 public:
  explicit AliasTable(const std::vector<double>& weights) : prob_(weights.size()), alias_(weights.size()) {
    double total = 0;
    for (double w : weights) total += w;
    std::vector<uint32_t> small, large;
    for (size_t i = 0; i < weights.size(); ++i) {
      prob_[i] = weights[i] * static_cast<double>(weights.size()) / total;
      (prob_[i] < 1 ? small : large).push_back(static_cast<uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      const uint32_t s = small.back(), l = large.back();
      small.pop_back();
      alias_[s] = l;
      if ((prob_[l] -= 1 - prob_[s]) < 1) large.pop_back(), small.push_back(l);
    }
    for (auto* rest : {&small, &large})
      for (uint32_t i : *rest) prob_[i] = 1;  // 1 up to rounding
  }
  uint32_t sample(Rng& rng) const {
    const uint64_t i = rng.below(prob_.size());
    return rng.uniform() < prob_[i] ? static_cast<uint32_t>(i) : alias_[i];
  }

 private:
  std::vector<double> prob_;
  std::vector<uint32_t> alias_;
};

struct Category {
  // `list`: space-separated words, most popular first; empty for numbered names (cast).
  Category(const char* n, double s, int lo, int hi, double ts, std::string_view list)
      : name(n), share(s), per_title_min(lo), per_title_max(hi), taste_share(ts) {
    for (size_t at = 0, end; at < list.size(); at = end + 1)
      words.push_back(list.substr(at, (end = std::min(list.find(' ', at), list.size())) - at));
  }
  const char* name;
  double share;  // of all tags
  int per_title_min, per_title_max;
  double taste_share;  // how often a liked tag comes from this category
  std::vector<std::string_view> words;
  uint32_t begin = 0, count = 0;  // a category's tags are contiguous, most popular first
  std::vector<double> cdf;        // Zipf(1) over the category's tags
  uint32_t zipf(Rng& rng) const {
    const double u = rng.uniform() * cdf.back();
    return begin + static_cast<uint32_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
  }
};

std::vector<Category> make_categories() {
  return {
      {"genre", 0.10, 1, 3, 0.22, "drama comedy thriller action romance crime horror documentary scifi fantasy "
                                  "animation mystery adventure family war western musical biography sports noir"},
      {"mood", 0.10, 1, 3, 0.15, "dark uplifting tense funny heartwarming gritty quirky romantic suspenseful "
                                 "melancholic feel_good cerebral violent whimsical bleak exciting"},
      {"theme", 0.25, 2, 6, 0.20, "revenge friendship coming_of_age survival betrayal redemption heist "
                                  "family_secrets identity power corruption forbidden_love rivalry grief ambition "
                                  "loyalty escape justice obsession sacrifice time_travel conspiracy first_love "
                                  "underdog parenthood addiction faith war_trauma artificial_intelligence"},
      {"era", 0.05, 1, 1, 0.05, "2020s 2010s 2000s 1990s 1980s 1970s 1960s"},
      {"cast", 0.25, 2, 8, 0.18, ""},
      {"setting", 0.15, 1, 2, 0.10, "new_york london small_town los_angeles outer_space tokyo paris high_school "
                                    "suburbia hospital desert prison countryside ocean jungle arctic "
                                    "medieval_europe future_city office island"},
      {"trait", 0.10, 1, 4, 0.10, "award_winning based_on_true_story binge_worthy plot_twist slow_burn "
                                  "cult_classic strong_female_lead ensemble_cast visually_stunning "
                                  "critically_acclaimed family_friendly foreign_language blockbuster "
                                  "dialogue_driven black_and_white low_budget"},
  };
}

// Splits `total` tags over the categories by share, at least one each when there is room.
void allocate_tags(std::vector<Category>& cats, uint32_t total) {
  if (total < cats.size()) {
    for (size_t c : {0, 2, 4, 1, 5, 6, 3})  // genre, theme, cast, mood, setting, trait, era
      if (total > 0) cats[c].count = 1, --total;
  } else {
    int64_t left = total;
    for (auto& c : cats) left -= c.count = std::max<uint32_t>(1, static_cast<uint32_t>(total * c.share));
    auto by_count = [](const Category& x, const Category& y) { return x.count < y.count; };
    for (; left < 0; ++left) --std::max_element(cats.begin(), cats.end(), by_count)->count;
    for (int i = 0; left > 0; --left, ++i) ++cats[i % 2 ? 4 : 2].count;  // rounding goes to theme, cast
  }
  uint32_t begin = 0;
  for (auto& c : cats) {
    c.begin = begin;
    begin += c.count;
    double sum = 0;
    for (uint32_t r = 0; r < c.count; ++r) c.cdf.push_back(sum += 1.0 / (r + 1));
  }
}

int digits(uint64_t n) { return static_cast<int>(fmt::formatted_size("{}", n)); }

void append_padded(std::string& buf, char prefix, uint64_t value, int width) {
  const fmt::format_int text(value);
  buf += prefix;
  buf.append(static_cast<size_t>(std::max<int>(0, width - static_cast<int>(text.size()))), '0');
  buf.append(text.data(), text.size());
}

// A CSV file built in a string and flushed to its AtomicFile in ~1 MiB pieces.
struct CsvOut {
  AtomicFile file;
  std::string buf;
  CsvOut(const std::string& path, std::string_view header) : file(path) { buf.append(header); }
  void maybe_flush() { buf.size() >= kFlushBytes ? (file.write(buf), buf.clear()) : void(); }
  void commit() { file.write(buf), buf.clear(), file.commit(); }
};

// What the user simulation needs from the catalogue. A title's tags are packed as tag << 10 | weight
// in thousandths (exactly the printed value): 4 bytes per assignment keeps 10M titles near 1 GB.
struct World {
  std::vector<Category> cats;
  std::vector<uint32_t> duration;
  std::vector<uint64_t> tag_begin;  // CSR offsets into packed_tags, one per title plus one
  std::vector<uint32_t> packed_tags;
  std::vector<std::string> tag_names;
  int title_width = 6;
  std::vector<uint64_t> tagged_begin;  // --discovery only: titles carrying each tag (CSR by tag)
  std::vector<uint32_t> tagged;

  void index_titles_by_tag() {
    tagged_begin.assign(tag_names.size() + 1, 0);
    for (uint32_t k : packed_tags) ++tagged_begin[(k >> 10) + 1];
    for (size_t i = 1; i < tagged_begin.size(); ++i) tagged_begin[i] += tagged_begin[i - 1];
    tagged.resize(packed_tags.size());
    std::vector<uint64_t> next(tagged_begin.begin(), tagged_begin.end() - 1);
    for (uint32_t t = 0; t + 1 < tag_begin.size(); ++t)
      for (uint64_t k = tag_begin[t]; k < tag_begin[t + 1]; ++k) tagged[next[packed_tags[k] >> 10]++] = t;
  }
};

// Writes the three catalogue files, fills `w` and returns the titles' popularity.
std::vector<double> write_catalog(const GenOptions& o, const std::string& dir, World& w) {
  w.cats = make_categories();
  allocate_tags(w.cats, o.tags);
  // The taxonomy depends on the tag count only. Names run through the word list, then get "_2", "_3".
  std::vector<std::string> tag_names;
  CsvOut tags(dir + "/tags.csv", "tag,category\n");
  for (const auto& c : w.cats) {
    for (uint32_t i = 0; i < c.count; ++i) {
      const size_t n = c.words.size();
      std::string name = n == 0 ? fmt::format("{}:actor_{:0{}}", c.name, i + 1, std::max(4, digits(c.count)))
                                : fmt::format("{}:{}", c.name, c.words[i % n]);
      if (n > 0 && i >= n) name += fmt::format("_{}", i / n + 1);
      fmt::format_to(std::back_inserter(tags.buf), "{},{}\n", name, c.name);
      tag_names.push_back(std::move(name));
    }
  }
  tags.commit();

  static constexpr std::string_view kAdjectives[] = {"Silent", "Last", "Broken", "Hidden", "Golden", "Crimson",
      "Distant", "Burning", "Frozen", "Forgotten", "Midnight", "Endless", "Wild", "Hollow", "Shattered",
      "Secret", "Lost", "Iron", "Velvet", "Electric", "Quiet", "Savage", "Bright", "Fallen"};
  static constexpr std::string_view kNouns[] = {"Harbor", "Kingdom", "River", "Promise", "Horizon", "Garden",
      "Empire", "Signal", "Shadow", "Witness", "Summer", "Frontier", "Mirror", "Storm", "Station", "Letter",
      "Crown", "Valley", "Protocol", "Voyage", "Island", "Code", "Heart", "Tide"};
  constexpr uint32_t kCombos = std::size(kAdjectives) * std::size(kNouns);

  Rng rng(splitmix64(splitmix64(o.seed ^ 0xca7a1096ULL)));  // one stream for the whole catalogue
  w.title_width = std::max(6, digits(o.titles));
  w.duration.resize(o.titles);
  w.tag_begin.assign(1, 0);
  std::vector<double> popularity(o.titles);
  CsvOut titles(dir + "/titles.csv", "title_id,name,duration_s,release_year\n");
  CsvOut title_tags(dir + "/title_tags.csv", "title_id,tag,weight\n");
  std::string id;
  for (uint32_t t = 0; t < o.titles; ++t) {
    id.clear();
    append_padded(id, 't', t + 1, w.title_width);
    const bool film = rng.chance(0.7);
    w.duration[t] = static_cast<uint32_t>(film ? rng.range(80 * 60, 180 * 60) : rng.range(20 * 60, 60 * 60));
    const double u = rng.uniform();
    const int year = 2026 - static_cast<int>(67 * u * u);  // squared: skewed towards recent years
    popularity[t] = std::exp(1.2 * rng.normal());
    fmt::format_to(std::back_inserter(titles.buf), "{},The {} {}", id,
                   kAdjectives[rng.below(std::size(kAdjectives))], kNouns[rng.below(std::size(kNouns))]);
    if (t >= kCombos) fmt::format_to(std::back_inserter(titles.buf), " {}", t / kCombos + 1);
    fmt::format_to(std::back_inserter(titles.buf), ",{},{}\n", w.duration[t], year);

    for (const auto& c : w.cats) {
      const auto want =
          static_cast<size_t>(std::min<int64_t>(c.count, rng.range(c.per_title_min, c.per_title_max)));
      const size_t first = w.packed_tags.size();
      auto taken = [&](uint32_t tag) {
        for (size_t k = first; k < w.packed_tags.size(); ++k)
          if (w.packed_tags[k] >> 10 == tag) return true;
        return false;
      };
      for (int tries = 0; w.packed_tags.size() - first < want; ++tries) {
        uint32_t tag = c.zipf(rng);
        if (std::string_view(c.name) == "era" && c.count >= 7) {  // the release decade ("1990s", "1990s_2", ...)
          const uint32_t decade = 6 - static_cast<uint32_t>(year - 1960) / 10;
          tag = c.begin + decade + 7 * static_cast<uint32_t>(rng.below((c.count - decade + 6) / 7));
        }
        while (tries > 50 && taken(tag)) tag = c.begin + (tag - c.begin + 1) % c.count;  // tiny categories
        if (taken(tag)) continue;
        const auto milli = static_cast<uint32_t>(std::lround(50 + 950 * std::pow(rng.uniform(), 0.6)));
        w.packed_tags.push_back(tag << 10 | milli);
        fmt::format_to(std::back_inserter(title_tags.buf), "{},{},{}.{:03}\n", id, tag_names[tag], milli / 1000,
                       milli % 1000);
      }
    }
    w.tag_begin.push_back(w.packed_tags.size());
    titles.maybe_flush();
    title_tags.maybe_flush();
  }
  titles.commit();
  title_tags.commit();
  w.tag_names = std::move(tag_names);
  return popularity;
}

// OUT/artwork.csv (docs/formats.md): `variants` variants per title, "<title_id>-a<i>". Each
// emphasises 2-4 of the title's tags (weights 0.3-1) and, half the time, one tag from anywhere in
// the taxonomy (a mood or a cast member the key art plays up). Its own random stream.
void write_artwork(const GenOptions& o, const World& w) {
  Rng rng(splitmix64(splitmix64(o.seed ^ 0xa47e0a4cULL)));
  CsvOut out(o.out_dir + "/artwork.csv", "title_id,artwork_id,tag,weight\n");
  const uint32_t n_tags = static_cast<uint32_t>(w.tag_names.size());
  std::string id;
  std::vector<uint32_t> own, picked;
  for (uint32_t t = 0; t < o.titles; ++t) {
    id.clear();
    append_padded(id, 't', t + 1, w.title_width);
    own.clear();
    for (uint64_t k = w.tag_begin[t]; k < w.tag_begin[t + 1]; ++k) own.push_back(w.packed_tags[k] >> 10);
    for (uint32_t v = 0; v < o.artwork_variants; ++v) {
      picked.clear();
      const size_t want = std::min<size_t>(own.size(), static_cast<size_t>(rng.range(2, 4)));
      while (picked.size() < want) {
        const uint32_t tag = own[rng.below(own.size())];
        if (std::find(picked.begin(), picked.end(), tag) == picked.end()) picked.push_back(tag);
      }
      if (picked.empty() || rng.chance(0.5)) {
        const uint32_t tag = static_cast<uint32_t>(rng.below(n_tags));
        if (std::find(picked.begin(), picked.end(), tag) == picked.end()) picked.push_back(tag);
      }
      for (uint32_t tag : picked) {
        const auto milli = static_cast<uint32_t>(rng.range(300, 1000));
        fmt::format_to(std::back_inserter(out.buf), "{},{}-a{},{},{}.{:03}\n", id, id, v + 1, w.tag_names[tag],
                       milli / 1000, milli % 1000);
      }
    }
    out.maybe_flush();
  }
  out.commit();
}

enum Kind { kPlay, kPause, kResume, kSeek, kStop, kComplete };
constexpr std::string_view kKindNames[] = {"play", "pause", "resume", "seek", "stop", "complete"};
constexpr std::string_view kOffsets[] = {"-08:00", "-05:00", "+00:00", "+01:00", "+05:30", "+09:00"};
constexpr double kOffsetShare[] = {0.20, 0.30, 0.15, 0.15, 0.10, 0.10};

// One title in one user's history, carried across the user's sessions with it.
struct Watch {
  uint32_t title = 0;
  std::string id;
  int64_t duration = 0, position = 0;
  int64_t target = 0;  // where the viewer will stop; == duration: they will complete it
  double affinity = 0;
  bool rewatched = false, reconsidered = false;
};

// Simulates users one at a time into `out`. Times are local seconds since 2026-01-01T00:00 in the
// user's offset: the printed local clock is then exactly the simulated one.
class UserSimulator {
 public:
  UserSimulator(const World& world, const AliasTable& popularity, const GenOptions& o, std::string& out)
      : w_(world), popularity_(popularity), o_(o), out_(out), taste_(o.tags, 0.0f) {
    user_width_ = std::max(7, digits(o.users));
    const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31};  // 2026, Jan 2027
    for (int m = 0; m < 13; ++m)
      for (int d = 1; d <= month_days[m]; ++d)
        dates_.push_back(fmt::format("{}-{:02}-{:02}T", 2026 + m / 12, m % 12 + 1, d));
  }

  // Appends user `index`'s events, in time order; returns how many.
  uint64_t run(uint64_t index) {
    rng_.reseed(splitmix64(splitmix64(o_.seed) + index));
    events_ = 0;
    user_id_.clear();
    append_padded(user_id_, 'u', index + 1, user_width_);
    double r = rng_.uniform();
    size_t z = 0;
    while (z + 1 < std::size(kOffsets) && (r -= kOffsetShare[z]) >= 0) ++z;
    offset_ = kOffsets[z];
    r = rng_.uniform();  // preferred hour: evening, afternoon, late night (23-02), morning
    peak_ = static_cast<int>(r < 0.55 ? rng_.range(19, 22) : r < 0.73 ? rng_.range(13, 16)
                             : r < 0.88 ? rng_.range(23, 26) % 24 : rng_.range(7, 9));
    make_taste();
    choose_titles();
    for (uint32_t tag : touched_) taste_[tag] = 0;
    touched_.clear();

    // Sessions run one at a time in the order they fall due, so events come out in time order and
    // never overlap. A session pushed far past its planned hour moves to another day instead.
    int64_t clock = -kDay;  // end of the previous session
    while (!queue_.empty()) {
      const auto [due, watch] = queue_.top();
      queue_.pop();
      const int64_t start = std::max(due, clock + rng_.range(5 * 60, 30 * 60));
      if (start - due > 3 * 3600) {
        queue_.push({std::max(session_time(clock / kDay + 1, watch), clock + 600), watch});
      } else if (start < kWindowDays * kDay) {  // else: past the window, never (re)watched
        clock = play_session(watch, start);
      }
    }
    return events_;
  }

 private:
  // 5-15 liked tags over all categories and 1-3 disliked genres/moods/themes, popular ones likelier.
  void make_taste() {
    const int likes = static_cast<int>(rng_.range(5, 15)), dislikes = static_cast<int>(rng_.range(1, 3));
    double total = 0;
    for (const auto& c : w_.cats) total += c.count ? c.taste_share : 0;
    for (int n = 0, tries = 0; n < likes + dislikes && tries < 200; ++tries) {
      const Category* cat = n >= likes ? &w_.cats[rng_.below(3)] : nullptr;
      if (!cat || cat->count == 0) {
        double x = rng_.uniform() * total;
        for (const auto& c : w_.cats)
          if (c.count && (cat = &c, x -= c.taste_share) < 0) break;
      }
      const uint32_t tag = cat->zipf(rng_);
      if (taste_[tag] != 0) continue;
      taste_[tag] = static_cast<float>(n++ < likes ? rng_.between(0.4, 1.0) : -rng_.between(0.5, 1.0));
      touched_.push_back(tag);
    }
  }

  // Draws 5x activity candidates by popularity, then keeps `activity` of them, sampled without
  // replacement with probability proportional to exp(3 affinity) (Efraimidis-Spirakis keys).
  void choose_titles() {
    const double sigma = 0.9;  // log-normal with mean mean_titles_per_user
    const double drawn = o_.mean_titles_per_user * std::exp(sigma * rng_.normal() - sigma * sigma / 2);
    const auto cap = static_cast<double>(std::min<uint32_t>(o_.titles, 500));
    const auto activity = static_cast<size_t>(std::clamp(std::round(drawn), 1.0, cap));
    candidates_.clear();
    // --discovery d: a share d of the draws browses a liked tag's titles instead (rows, search,
    // recommendations), so what a user comes across follows taste too. d = 0 draws nothing extra.
    liked_.clear();
    if (o_.discovery > 0)
      for (uint32_t tag : touched_)
        if (taste_[tag] > 0 && w_.tagged_begin[tag + 1] > w_.tagged_begin[tag]) liked_.push_back(tag);
    for (size_t i = 0; i < 5 * activity; ++i) {
      if (!liked_.empty() && rng_.chance(o_.discovery)) {
        const uint32_t tag = liked_[rng_.below(liked_.size())];
        const uint64_t b = w_.tagged_begin[tag], e = w_.tagged_begin[tag + 1];
        candidates_.push_back(w_.tagged[b + rng_.below(e - b)]);
      } else {
        candidates_.push_back(popularity_.sample(rng_));
      }
    }
    std::sort(candidates_.begin(), candidates_.end());
    candidates_.erase(std::unique(candidates_.begin(), candidates_.end()), candidates_.end());
    const auto drawn_end = candidates_.end() - candidates_.begin();
    // Small catalogues only: top up with titles the popularity draws missed.
    for (auto t = static_cast<uint32_t>(rng_.below(o_.titles)); candidates_.size() < activity;
         t = (t + 1) % o_.titles)
      if (!std::binary_search(candidates_.begin(), candidates_.begin() + drawn_end, t)) candidates_.push_back(t);

    // Affinity is relative to the user's own candidates (a z-score through tanh), so engagement
    // spreads over [-1, 1] whatever the catalogue size and tag overlap.
    keyed_.clear();
    double sum = 0, sum_sq = 0;
    for (uint32_t t : candidates_) {
      double raw = 0;
      for (uint64_t k = w_.tag_begin[t]; k < w_.tag_begin[t + 1]; ++k)
        raw += (w_.packed_tags[k] & 1023) * 0.001 * taste_[w_.packed_tags[k] >> 10];
      keyed_.push_back({0, t, raw});
      sum += raw, sum_sq += raw * raw;
    }
    const double mean = sum / keyed_.size();
    const double scale = 1.5 * std::sqrt(std::max(0.0, sum_sq / keyed_.size() - mean * mean)) + 0.2;
    for (auto& k : keyed_) {
      k.affinity = std::tanh((k.affinity - mean) / scale);
      k.key = std::log(1 - rng_.uniform()) * std::exp(-3 * k.affinity);
    }
    auto larger_key = [](const Keyed& x, const Keyed& y) {
      return std::tie(x.key, x.title) > std::tie(y.key, y.title);
    };
    std::nth_element(keyed_.begin(), keyed_.begin() + (activity - 1), keyed_.end(), larger_key);
    watches_.assign(activity, Watch{});
    for (size_t i = 0; i < activity; ++i) {
      Watch& wt = watches_[i];
      wt.title = keyed_[i].title;
      append_padded(wt.id, 't', wt.title + 1, w_.title_width);
      wt.duration = w_.duration[wt.title];
      wt.affinity = keyed_[i].affinity;
      // Completion follows taste; otherwise the viewer gives up, early when they dislike the title.
      wt.target = rng_.chance(sigmoid(4 * wt.affinity)) ? wt.duration : give_up_point(wt);
      queue_.push({session_time(static_cast<int64_t>(rng_.below(kWindowDays)), static_cast<uint32_t>(i)),
                   static_cast<uint32_t>(i)});
    }
  }

  int64_t give_up_point(const Watch& wt) {  // below 90% of the duration: never counts as complete
    const double fraction = 0.02 + 0.86 * std::pow(rng_.uniform(), 1.5 - wt.affinity);
    return std::max<int64_t>(wt.position + 1, static_cast<int64_t>(fraction * wt.duration));
  }
  // On `day`, at the preferred hour +-2h; with --daypart-effect e, a share e of sessions is at the
  // title's own hour instead (so what is watched depends on the hour). e = 0 draws nothing extra:
  // the default data set does not change.
  int64_t session_time(int64_t day, uint32_t watch) {
    int centre = peak_;
    if (o_.daypart_effect > 0 && rng_.chance(o_.daypart_effect)) centre = title_hour(watches_[watch].title);
    const int hour = (centre + static_cast<int>(std::clamp(std::round(rng_.normal()), -2.0, 2.0)) + 24) % 24;
    return day * kDay + hour * 3600 + static_cast<int64_t>(rng_.below(3600));
  }
  int title_hour(uint32_t title) const {  // morning, noon, afternoon, evening or late night, by title
    constexpr int kHours[] = {8, 12, 17, 21, 0};
    return kHours[splitmix64(splitmix64(o_.seed ^ 0xda7a) + title) % 5];
  }
  void schedule(uint32_t watch, int64_t after, int64_t days) {
    queue_.push({session_time(after / kDay + days, watch), watch});
  }

  // One sitting, from play to stop or complete; returns when it ended. The position advances 1:1
  // with the clock while playing; pauses take clock time only; seeks move the position only.
  int64_t play_session(uint32_t index, int64_t t) {
    Watch& wt = watches_[index];
    const double a = wt.affinity;
    int64_t& pos = wt.position;
    emit(t, kPlay, wt, pos);
    int64_t goal = wt.target;
    const bool interrupted = goal - pos > 900 && rng_.chance(0.1 + 0.25 * wt.duration / 10800.0);
    if (interrupted) goal = pos + static_cast<int64_t>((goal - pos) * rng_.between(0.2, 0.8));
    const double skip = 0.05 + 0.2 * (1 - a), rewind = 0.05 + 0.15 * (1 + a);  // relative to pause = 1
    while (true) {
      const int64_t chunk = 1 + static_cast<int64_t>(rng_.exponential(1800));
      if (pos + chunk >= goal) {
        t += goal - pos, pos = goal;
        break;
      }
      t += chunk, pos += chunk;
      const double r = rng_.uniform() * (1 + skip + rewind);
      if (r < 1) {
        emit(t, kPause, wt, pos);
        t += 30 + static_cast<int64_t>(rng_.exponential(240));
        emit(t, kResume, wt, pos);
      } else if (r < 1 + skip) {
        const int64_t to = std::min(goal, pos + rng_.range(30, 300));
        emit(t, kSeek, wt, pos, to);
        t += 1, pos = to;
        if (pos >= goal) break;
      } else if (pos > 10) {
        const int64_t to = pos - rng_.range(10, std::min<int64_t>(pos, 120));
        emit(t, kSeek, wt, pos, to);
        t += 1, pos = to;
      }
    }
    if (interrupted) {  // life got in the way: back in a few days, from here
      emit(t, kStop, wt, pos);
      schedule(index, t, rng_.range(1, 4));
    } else if (wt.target >= wt.duration) {
      emit(t, kComplete, wt, wt.duration);
      if (!wt.rewatched && rng_.chance(0.03 + 0.12 * std::max(a, 0.0))) {
        wt.rewatched = true, pos = 0;
        wt.target = rng_.chance(0.6) ? wt.duration : give_up_point(wt);
        schedule(index, t, rng_.range(7, 60));
      }
    } else {
      emit(t, kStop, wt, pos);
      if (!wt.reconsidered && rng_.chance(0.1 + 0.1 * (1 + a))) {  // gives it another go
        wt.reconsidered = true;
        const auto later = pos + static_cast<int64_t>((0.88 * wt.duration - pos) * rng_.between(0.3, 0.8));
        wt.target = rng_.chance(sigmoid(4 * a)) ? wt.duration : later;
        if (wt.target > pos + 60) schedule(index, t, rng_.range(1, 10));
      }
    }
    return t;
  }

  // Hand-formatted: this is the hot path (about 1B rows at full scale).
  void emit(int64_t t, Kind kind, const Watch& wt, int64_t position, int64_t seek_to = -1) {
    const auto day = static_cast<size_t>(t / kDay);
    const auto sod = static_cast<int>(t % kDay);
    MARQUEE_ASSERT(day < dates_.size());
    const char hms[] = {char('0' + sod / 36000), char('0' + sod / 3600 % 10), ':', char('0' + sod % 3600 / 600),
                        char('0' + sod % 600 / 60), ':', char('0' + sod % 60 / 10), char('0' + sod % 10)};
    out_ += dates_[day];
    out_.append(hms, sizeof hms);
    (((out_ += offset_) += ',') += user_id_) += ',';
    (((out_ += wt.id) += ',') += kKindNames[kind]) += ',';
    const fmt::format_int p(position);
    out_.append(p.data(), p.size()) += ',';
    if (seek_to >= 0) {
      const fmt::format_int s(seek_to);
      out_.append(s.data(), s.size());
    }
    out_ += '\n';
    ++events_;
  }

  struct Keyed { double key; uint32_t title; double affinity; };
  using Due = std::pair<int64_t, uint32_t>;  // (start time, watch index): a total order

  const World& w_;
  const AliasTable& popularity_;
  const GenOptions& o_;
  std::string& out_;
  Rng rng_{0};
  std::vector<float> taste_;  // dense over tags; only `touched_` entries are non-zero
  std::vector<uint32_t> liked_;  // --discovery: liked tags with titles
  std::vector<uint32_t> touched_, candidates_;
  std::vector<Keyed> keyed_;
  std::vector<Watch> watches_;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> queue_;
  std::vector<std::string> dates_;  // "2026-03-04T" by local day
  std::string user_id_;
  std::string_view offset_;
  int user_width_ = 7, peak_ = 21;
  uint64_t events_ = 0;
};

}  // namespace

GenStats generate_dataset(const GenOptions& o, const std::function<void(uint64_t, uint64_t)>& progress) {
  MARQUEE_CHECK_ARG(o.users >= 1, "--users must be at least 1 (got {})", o.users);
  MARQUEE_CHECK_ARG(o.titles >= 1 && o.titles <= 10'000'000, "--titles must be in [1, 10000000] (got {})",
                    o.titles);
  MARQUEE_CHECK_ARG(o.tags >= 1 && o.tags <= 100'000, "--tags must be in [1, 100000] (got {})", o.tags);
  MARQUEE_CHECK_ARG(o.mean_titles_per_user > 0 && std::isfinite(o.mean_titles_per_user),
                    "mean titles per user must be positive (got {})", o.mean_titles_per_user);
  MARQUEE_CHECK_ARG(o.discovery >= 0 && o.discovery <= 1, "--discovery must be in [0, 1] (got {})", o.discovery);
  MARQUEE_CHECK_ARG(o.daypart_effect >= 0 && o.daypart_effect <= 1, "--daypart-effect must be in [0, 1] (got {})",
                    o.daypart_effect);
  MARQUEE_CHECK_ARG(o.artwork_variants <= 1000, "--artwork-variants must be in [0, 1000] (got {})", o.artwork_variants);
  MARQUEE_CHECK_ARG(!o.out_dir.empty(), "--out must name a directory");
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir + "/catalog", ec);
  MARQUEE_CHECK_INPUT(!ec, "cannot create {}/catalog: {}", o.out_dir, ec.message());

  GenStats stats;
  stats.users = o.users, stats.titles = o.titles, stats.tags = o.tags;
  World world;
  const AliasTable popularity(write_catalog(o, o.out_dir + "/catalog", world));
  if (o.discovery > 0) world.index_titles_by_tag();
  stats.assignments = world.packed_tags.size();
  if (o.artwork_variants > 0) write_artwork(o, world);
  CsvOut events(o.out_dir + "/events.csv", "ts,user_id,title_id,event,position_s,seek_to_s\n");
  UserSimulator sim(world, popularity, o, events.buf);
  constexpr uint64_t kReportEvery = 1'000'000;
  for (uint64_t u = 0; u < o.users; ++u) {
    const uint64_t before = stats.events;
    stats.events += sim.run(u);
    events.maybe_flush();
    if (progress && stats.events / kReportEvery != before / kReportEvery) progress(u + 1, stats.events);
  }
  events.commit();
  if (progress) progress(o.users, stats.events);
  return stats;
}

}  // namespace marquee
