// The generative model behind `marquee gen`. It only has to produce plausible data: the engine must
// never rely on it. Outline:
//   tags    Zipf popularity within each category (the first word of a list is the most popular).
//   titles  log-normal popularity (a few blockbusters), 8-30 tags each, films and episodes.
//   users   a latent taste (liked and disliked tags), log-normal activity, a preferred hour and a
//           UTC offset; titles are drawn by popularity, then kept with probability rising with taste,
//           and watched with an engagement (completion, skips, rewinds, stops) that follows taste.
// Only std::mt19937_64 is used from <random>: the std distributions differ between standard
// libraries, and the files must depend on the seed alone.
#include "host/generator.h"

#include "engine/error.h"
#include "host/atomic_file.h"

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
constexpr int64_t kWindowDays = 181;  // sessions start on 2026-01-01 .. 2026-06-30 (local time)
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
    const size_t n = weights.size();
    double total = 0;
    for (double w : weights) total += w;
    std::vector<uint32_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      prob_[i] = weights[i] * static_cast<double>(n) / total;
      (prob_[i] < 1 ? small : large).push_back(static_cast<uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      const uint32_t s = small.back(), l = large.back();
      small.pop_back();
      alias_[s] = l;
      prob_[l] -= 1 - prob_[s];
      if (prob_[l] < 1) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (uint32_t i : small) prob_[i] = 1;  // leftovers are 1 up to rounding
    for (uint32_t i : large) prob_[i] = 1;
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
  Category(const char* n, double s, int lo, int hi, double ts, std::vector<std::string_view> w)
      : name(n), share(s), per_title_min(lo), per_title_max(hi), taste_share(ts), words(std::move(w)) {}
  const char* name;
  double share;  // of all tags
  int per_title_min, per_title_max;
  double taste_share;                   // how often a liked tag comes from this category
  std::vector<std::string_view> words;  // empty: numbered names (cast)
  uint32_t begin = 0, count = 0;        // tags of a category are contiguous, in popularity order
  std::vector<double> cdf;              // Zipf(1) over the category's tags
  uint32_t zipf(Rng& rng) const {
    const double u = rng.uniform() * cdf.back();
    return begin + static_cast<uint32_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
  }
};

std::vector<Category> make_categories() {
  return {
      {"genre", 0.10, 1, 3, 0.22, {"drama", "comedy", "thriller", "action", "romance", "crime", "horror",
        "documentary", "scifi", "fantasy", "animation", "mystery", "adventure", "family", "war", "western",
        "musical", "biography", "sports", "noir"}},
      {"mood", 0.10, 1, 3, 0.15, {"dark", "uplifting", "tense", "funny", "heartwarming", "gritty", "quirky",
        "romantic", "suspenseful", "melancholic", "feel_good", "cerebral", "violent", "whimsical", "bleak",
        "exciting"}},
      {"theme", 0.25, 2, 6, 0.20, {"revenge", "friendship", "coming_of_age", "survival", "betrayal",
        "redemption", "heist", "family_secrets", "identity", "power", "corruption", "forbidden_love",
        "rivalry", "grief", "ambition", "loyalty", "escape", "justice", "obsession", "sacrifice",
        "time_travel", "conspiracy", "first_love", "underdog", "parenthood", "addiction", "faith",
        "war_trauma", "artificial_intelligence", "love_triangle"}},
      {"era", 0.05, 1, 1, 0.05, {"2020s", "2010s", "2000s", "1990s", "1980s", "1970s", "1960s"}},
      {"cast", 0.25, 2, 8, 0.18, {}},
      {"setting", 0.15, 1, 2, 0.10, {"new_york", "london", "small_town", "los_angeles", "outer_space", "tokyo",
        "paris", "high_school", "suburbia", "hospital", "desert", "prison", "countryside", "ocean",
        "jungle", "arctic", "medieval_europe", "future_city", "office", "island"}},
      {"trait", 0.10, 1, 4, 0.10, {"award_winning", "based_on_true_story", "binge_worthy", "plot_twist",
        "slow_burn", "cult_classic", "strong_female_lead", "ensemble_cast", "visually_stunning",
        "critically_acclaimed", "family_friendly", "foreign_language", "blockbuster", "dialogue_driven",
        "black_and_white", "low_budget"}},
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
    for (size_t i = 0; left != 0; i = (i + 1) % cats.size()) {  // rounding: fix on the big categories
      auto& c = cats[(i % 2 == 0) ? 2 : 4];
      if (left > 0) ++c.count, --left;
      else if (c.count > 1) --c.count, ++left;
    }
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
  void maybe_flush() {
    if (buf.size() >= kFlushBytes) file.write(buf), buf.clear();
  }
  void commit() { file.write(buf), buf.clear(), file.commit(); }
};

// What user simulation needs from the catalogue. A title's tags are packed as tag << 10 | weight in
// thousandths (exactly the printed value): 4 bytes per assignment keeps 10M titles at ~1 GB.
struct World {
  std::vector<Category> cats;
  std::vector<uint32_t> duration;
  std::vector<uint64_t> tag_begin;  // CSR offsets into packed_tags, one per title plus one
  std::vector<uint32_t> packed_tags;
  int title_width = 6;
};

std::vector<double> write_catalog(const GenOptions& o, const std::string& dir, World& w, GenStats& stats) {
  w.cats = make_categories();
  allocate_tags(w.cats, o.tags);
  // Names: the category's word list in popularity order, numbered once the list runs out.
  std::vector<std::string> tag_names;
  CsvOut tags(dir + "/tags.csv", "tag,category\n");
  for (const auto& c : w.cats) {
    for (uint32_t i = 0; i < c.count; ++i) {
      std::string name = c.words.empty() ? fmt::format("{}:actor_{:0{}}", c.name, i + 1, std::max(4, digits(c.count)))
                                         : fmt::format("{}:{}", c.name, c.words[i % c.words.size()]);
      if (!c.words.empty() && i >= c.words.size()) name += fmt::format("_{}", i / c.words.size() + 1);
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

  Rng rng(splitmix64(splitmix64(o.seed) ^ 0xca7a1096ULL));  // one stream for the whole catalogue
  w.title_width = std::max(6, digits(o.titles));
  w.duration.resize(o.titles);
  w.tag_begin.assign(1, 0);
  std::vector<double> popularity(o.titles);
  CsvOut titles(dir + "/titles.csv", "title_id,name,duration_s,release_year\n");
  CsvOut title_tags(dir + "/title_tags.csv", "title_id,tag,weight\n");
  std::string id;
  std::vector<uint32_t> picked;
  for (uint32_t t = 0; t < o.titles; ++t) {
    id.clear();
    append_padded(id, 't', t + 1, w.title_width);
    const bool film = rng.chance(0.7);
    w.duration[t] = static_cast<uint32_t>(film ? rng.range(80 * 60, 180 * 60) : rng.range(20 * 60, 60 * 60));
    const double u = rng.uniform();
    const int year = 2026 - static_cast<int>(67 * u * u);  // squaring skews towards recent years
    popularity[t] = std::exp(1.2 * rng.normal());
    fmt::format_to(std::back_inserter(titles.buf), "{},The {} {}", id, kAdjectives[rng.below(std::size(kAdjectives))],
                   kNouns[rng.below(std::size(kNouns))]);
    if (t >= kCombos) fmt::format_to(std::back_inserter(titles.buf), " {}", t / kCombos + 1);
    fmt::format_to(std::back_inserter(titles.buf), ",{},{}\n", w.duration[t], year);

    for (const auto& c : w.cats) {
      const int64_t want = std::min<int64_t>(c.count, rng.range(c.per_title_min, c.per_title_max));
      picked.clear();
      if (std::string_view(c.name) == "era" && c.count >= 7) {
        picked.push_back(c.begin + static_cast<uint32_t>(6 - (year - 1960) / 10));  // the release decade
      }
      for (int tries = 0; static_cast<int64_t>(picked.size()) < want; ++tries) {
        // Zipf draws, distinct; after many collisions (tiny categories) take the next unused tag.
        uint32_t tag = c.zipf(rng);
        for (uint32_t k = 0; tries > 50 && std::count(picked.begin(), picked.end(), tag); ++k)
          tag = c.begin + (tag - c.begin + 1) % c.count;
        if (std::count(picked.begin(), picked.end(), tag)) continue;
        picked.push_back(tag);
        const auto milli = static_cast<uint32_t>(std::lround(50 + 950 * std::pow(rng.uniform(), 0.6)));
        w.packed_tags.push_back(tag << 10 | milli);
      }
    }
    for (uint64_t k = w.tag_begin.back(); k < w.packed_tags.size(); ++k) {
      const uint32_t tag = w.packed_tags[k] >> 10, milli = w.packed_tags[k] & 1023;
      fmt::format_to(std::back_inserter(title_tags.buf), "{},{}", id, tag_names[tag]);
      fmt::format_to(std::back_inserter(title_tags.buf), ",{}.{:03}\n", milli / 1000, milli % 1000);
    }
    w.tag_begin.push_back(w.packed_tags.size());
    titles.maybe_flush();
    title_tags.maybe_flush();
  }
  titles.commit();
  title_tags.commit();
  stats.assignments = w.packed_tags.size();
  return popularity;
}

enum Kind { kPlay, kPause, kResume, kSeek, kStop, kComplete };
constexpr std::string_view kKindNames[] = {"play", "pause", "resume", "seek", "stop", "complete"};
constexpr std::string_view kOffsets[] = {"-08:00", "-05:00", "+00:00", "+01:00", "+05:30", "+09:00"};
constexpr double kOffsetShare[] = {0.20, 0.30, 0.15, 0.15, 0.10, 0.10};

// One title in one user's history, carried across that user's sessions with it.
struct Watch {
  uint32_t title = 0;
  std::string id;
  int64_t duration = 0, position = 0;
  int64_t target = 0;  // where the viewer will stop this time; == duration: they will complete it
  double affinity = 0;
  bool rewatched = false, reconsidered = false;
};

class UserSimulator {
 public:
  UserSimulator(const World& world, const AliasTable& popularity, const GenOptions& o, std::string& out)
      : w_(world), popularity_(popularity), o_(o), out_(out), taste_(o.tags, 0.0f) {
    user_width_ = std::max(7, digits(o.users));
    const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31};  // 2026 and Jan 2027
    for (int m = 0; m < 13; ++m)
      for (int d = 1; d <= month_days[m]; ++d) dates_.push_back(fmt::format("{}-{:02}-{:02}T", 2026 + m / 12, m % 12 + 1, d));
  }

  // Simulates user `index` and appends its events, in time order; returns how many.
  uint64_t run(uint64_t index) {
    rng_.reseed(splitmix64(splitmix64(o_.seed) + index));
    events_ = 0;
    user_id_.clear();
    append_padded(user_id_, 'u', index + 1, user_width_);
    double r = rng_.uniform();
    size_t z = 0;
    while (z + 1 < std::size(kOffsets) && (r -= kOffsetShare[z]) >= 0) ++z;
    offset_ = kOffsets[z];
    // Preferred local hour: evening is most common, then afternoon, late night and morning.
    r = rng_.uniform();
    peak_ = static_cast<int>(r < 0.55 ? rng_.range(19, 22) : r < 0.73 ? rng_.range(13, 16)
                             : r < 0.88 ? rng_.range(23, 26) % 24 : rng_.range(7, 9));
    make_taste();
    choose_titles();
    reset_taste();

    // Sessions are played one at a time in the order they are due, so a user's events come out in time
    // order and never overlap.
    int64_t clock = -kDay;  // end of the previous session
    while (!queue_.empty()) {
      const auto [due, watch] = queue_.top();
      queue_.pop();
      const int64_t start = std::max(due, clock + rng_.range(5 * 60, 30 * 60));
      if (start - due > 3 * 3600) {  // still busy long after the planned time: another day instead
        const int64_t next = session_time(clock / kDay + 1);
        queue_.push({std::max(next, clock + 600), watch});
        continue;
      }
      if (start >= kWindowDays * kDay) continue;  // past the window: never (re)watched
      clock = play_session(watch, start);
    }
    return events_;
  }

 private:
  // Liked tags (5-15, spread over categories, popular ones more likely) and 1-3 disliked ones.
  void make_taste() {
    const int likes = static_cast<int>(rng_.range(5, 15)), dislikes = static_cast<int>(rng_.range(1, 3));
    double total = 0;
    for (const auto& c : w_.cats) total += c.count ? c.taste_share : 0;
    for (int n = 0, tries = 0; n < likes + dislikes && tries < 200; ++tries) {
      const Category* cat = nullptr;
      if (n >= likes) cat = &w_.cats[rng_.below(3)];  // dislikes: a genre, mood or theme
      if (!cat || cat->count == 0) {
        double x = rng_.uniform() * total;
        for (const auto& c : w_.cats)
          if (c.count && (cat = &c, x -= c.taste_share) < 0) break;
      }
      const uint32_t tag = cat->zipf(rng_);
      if (taste_[tag] != 0) continue;
      taste_[tag] = static_cast<float>(n < likes ? rng_.between(0.4, 1.0) : -rng_.between(0.5, 1.0));
      touched_.push_back(tag);
      ++n;
    }
  }
  void reset_taste() {
    for (uint32_t tag : touched_) taste_[tag] = 0;
    touched_.clear();
  }
  double raw_affinity(uint32_t title) const {  // sum of title tag weight x taste
    double raw = 0;
    for (uint64_t k = w_.tag_begin[title]; k < w_.tag_begin[title + 1]; ++k)
      raw += (w_.packed_tags[k] & 1023) * 0.001 * taste_[w_.packed_tags[k] >> 10];
    return raw;
  }

  // Draws ~5x activity candidates by popularity, then keeps `activity` of them, sampled without
  // replacement with probability proportional to exp(3 affinity) (Efraimidis-Spirakis keys).
  void choose_titles() {
    const uint64_t cap = std::min<uint64_t>(o_.titles, 500);
    const double sigma = 0.9;  // log-normal with mean mean_titles_per_user
    const double drawn = o_.mean_titles_per_user * std::exp(sigma * rng_.normal() - sigma * sigma / 2);
    const auto activity = static_cast<size_t>(std::clamp<double>(std::round(drawn), 1, static_cast<double>(cap)));
    candidates_.clear();
    for (size_t i = 0; i < 5 * activity; ++i) candidates_.push_back(popularity_.sample(rng_));
    std::sort(candidates_.begin(), candidates_.end());
    candidates_.erase(std::unique(candidates_.begin(), candidates_.end()), candidates_.end());
    const size_t drawn_distinct = candidates_.size();
    for (uint64_t t = rng_.below(o_.titles); candidates_.size() < activity; t = (t + 1) % o_.titles) {
      // Only for small catalogues: top up with unpopular titles the draws missed.
      if (!std::binary_search(candidates_.begin(), candidates_.begin() + drawn_distinct, t))
        candidates_.push_back(static_cast<uint32_t>(t));
    }
    // Affinity is relative to the user's own candidates (z-score through tanh), so that engagement
    // spreads over [-1, 1] whatever the catalogue size and tag overlap.
    keyed_.clear();
    double sum = 0, sum_sq = 0;
    for (uint32_t t : candidates_) {
      const double raw = raw_affinity(t);
      keyed_.push_back({0, t, raw});
      sum += raw, sum_sq += raw * raw;
    }
    const double mean = sum / keyed_.size();
    const double scale = 1.5 * std::sqrt(std::max(0.0, sum_sq / keyed_.size() - mean * mean)) + 0.2;
    for (auto& k : keyed_) {
      k.affinity = std::tanh((k.affinity - mean) / scale);
      k.key = std::log(1 - rng_.uniform()) * std::exp(-3 * k.affinity);
    }
    std::nth_element(keyed_.begin(), keyed_.begin() + (activity - 1), keyed_.end(),
                     [](const Keyed& x, const Keyed& y) { return std::tie(x.key, x.title) > std::tie(y.key, y.title); });
    watches_.resize(activity);
    for (size_t i = 0; i < activity; ++i) {
      Watch& wt = watches_[i];
      wt = Watch{};
      wt.title = keyed_[i].title;
      wt.id.clear();
      append_padded(wt.id, 't', wt.title + 1, w_.title_width);
      wt.duration = w_.duration[wt.title];
      wt.affinity = keyed_[i].affinity;
      // Completion follows taste; otherwise the viewer gives up, early when they dislike the title.
      wt.target = rng_.chance(sigmoid(4 * wt.affinity)) ? wt.duration : give_up_point(wt);
      queue_.push({session_time(static_cast<int64_t>(rng_.below(kWindowDays))), static_cast<uint32_t>(i)});
    }
  }
  int64_t give_up_point(const Watch& wt) {
    const double fraction = 0.02 + 0.86 * std::pow(rng_.uniform(), 1.5 - wt.affinity);  // < 0.9: not "complete"
    return std::max<int64_t>(wt.position + 1, static_cast<int64_t>(fraction * wt.duration));
  }
  // Local seconds since 2026-01-01T00:00 of a session start on `day`, at the user's hour +-2h.
  int64_t session_time(int64_t day) {
    const int hour = (peak_ + static_cast<int>(std::clamp(std::round(rng_.normal()), -2.0, 2.0)) + 24) % 24;
    return day * kDay + hour * 3600 + static_cast<int64_t>(rng_.below(3600));
  }
  void schedule(uint32_t watch, int64_t after, int64_t days) {
    queue_.push({session_time(after / kDay + days), watch});
  }

  // One sitting from play to stop/complete; returns the time it ended. Position advances 1:1 with
  // wall-clock time while playing; pauses add wall-clock time only; seeks jump the position.
  int64_t play_session(uint32_t index, int64_t t) {
    Watch& wt = watches_[index];
    const double a = wt.affinity;
    int64_t& pos = wt.position;
    emit(t, kPlay, wt, pos);
    int64_t goal = wt.target;
    const bool interrupted = goal - pos > 900 && rng_.chance(0.1 + 0.25 * wt.duration / 10800.0);
    if (interrupted) goal = pos + static_cast<int64_t>((goal - pos) * rng_.between(0.2, 0.8));
    const double skip = 0.1 + 0.25 * (1 - a), rewind = 0.1 + 0.2 * (1 + a);  // pause weight: 1
    while (true) {
      const int64_t chunk = 1 + static_cast<int64_t>(rng_.exponential(1200));
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
    if (interrupted) {  // life got in the way: back in a few days from here
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
      if (!wt.reconsidered && rng_.chance(0.1 + 0.1 * (1 + a))) {  // gives it another go later
        wt.reconsidered = true;
        const auto later = pos + static_cast<int64_t>((0.88 * wt.duration - pos) * rng_.between(0.3, 0.8));
        wt.target = rng_.chance(sigmoid(4 * a)) ? wt.duration : later;
        if (wt.target > pos + 60) schedule(index, t, rng_.range(1, 10));
      }
    }
    return t;
  }

  void emit(int64_t t, Kind kind, const Watch& wt, int64_t position, int64_t seek_to = -1) {
    const auto day = static_cast<size_t>(t / kDay);
    const auto sod = static_cast<int>(t % kDay);
    MARQUEE_ASSERT(day < dates_.size());
    const char hms[] = {char('0' + sod / 36000), char('0' + sod / 3600 % 10), ':',
                        char('0' + sod % 3600 / 600), char('0' + sod % 600 / 60), ':',
                        char('0' + sod % 60 / 10), char('0' + sod % 10)};
    out_ += dates_[day];
    out_.append(hms, sizeof hms);
    out_ += offset_;
    out_ += ',';
    out_ += user_id_;
    out_ += ',';
    out_ += wt.id;
    out_ += ',';
    out_ += kKindNames[kind];
    out_ += ',';
    const fmt::format_int p(position);
    out_.append(p.data(), p.size());
    out_ += ',';
    if (seek_to >= 0) {
      const fmt::format_int s(seek_to);
      out_.append(s.data(), s.size());
    }
    out_ += '\n';
    ++events_;
  }

  struct Keyed {
    double key;
    uint32_t title;
    double affinity;
  };
  using Due = std::pair<int64_t, uint32_t>;  // (local start time, watch index): a total order

  const World& w_;
  const AliasTable& popularity_;
  const GenOptions& o_;
  std::string& out_;
  Rng rng_{0};
  std::vector<float> taste_;  // dense over tags; only `touched_` entries are non-zero
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
  MARQUEE_CHECK_ARG(o.titles >= 1 && o.titles <= 10'000'000, "--titles must be in [1, 10000000] (got {})", o.titles);
  MARQUEE_CHECK_ARG(o.tags >= 1 && o.tags <= 100'000, "--tags must be in [1, 100000] (got {})", o.tags);
  MARQUEE_CHECK_ARG(o.mean_titles_per_user > 0 && std::isfinite(o.mean_titles_per_user),
                    "mean titles per user must be positive (got {})", o.mean_titles_per_user);
  MARQUEE_CHECK_ARG(!o.out_dir.empty(), "--out must name a directory");
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir + "/catalog", ec);
  MARQUEE_CHECK_INPUT(!ec, "cannot create {}/catalog: {}", o.out_dir, ec.message());

  GenStats stats;
  stats.users = o.users, stats.titles = o.titles, stats.tags = o.tags;
  World world;
  const AliasTable popularity(write_catalog(o, o.out_dir + "/catalog", world, stats));
  CsvOut events(o.out_dir + "/events.csv", "ts,user_id,title_id,event,position_s,seek_to_s\n");
  UserSimulator sim(world, popularity, o, events.buf);
  constexpr uint64_t kReportEvery = 1 << 20;
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
