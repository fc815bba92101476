#include "host/jobs/user_sample.h"

#include "engine/error.h"
#include "host/io/progress.h"
#include "host/jobs/spilled_profiles.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <unordered_map>

namespace marquee {
namespace {

constexpr double kTwo64 = 18446744073709551616.0;  // 2^64
// The sample is not halved below this many users: a budget under the fixed costs still runs (on a
// sample this small, and says so) rather than failing after the read.
constexpr size_t kMinSampleUsers = 200;

// Distinct users of the whole input without holding them: HyperLogLog (Flajolet et al. 2007) on the
// user hash, 2^14 registers (16 KB, ~0.8% standard error), with the small-range correction.
class DistinctCounter {
 public:
  void add(uint64_t h) {
    const size_t r = h & (kRegisters - 1);
    const uint64_t rest = h >> kBits;  // 64 - kBits bits
    const uint8_t rank = uint8_t(rest == 0 ? 64 - kBits + 1 : __builtin_ctzll(rest) + 1);
    registers_[r] = std::max(registers_[r], rank);
  }
  size_t estimate() const {
    double sum = 0;
    size_t zeros = 0;
    for (uint8_t x : registers_) sum += std::ldexp(1.0, -int(x)), zeros += x == 0;
    const double m = double(kRegisters);
    const double e = 0.7213 / (1 + 1.079 / m) * m * m / sum;
    if (e <= 2.5 * m && zeros > 0) return size_t(std::llround(m * std::log(m / double(zeros))));
    return size_t(std::llround(e));
  }

 private:
  static constexpr unsigned kBits = 14;
  static constexpr size_t kRegisters = size_t(1) << kBits;
  std::vector<uint8_t> registers_ = std::vector<uint8_t>(kRegisters, 0);
};

std::string megabytes(double bytes) { return fmt::format("{:.0f} MB", bytes / 1e6); }

}  // namespace

UserSample UserSample::of_fraction(double fraction) {
  MARQUEE_CHECK_ARG(std::isfinite(fraction) && fraction > 0 && fraction <= 1,
                    "--sample-users {}: expected a share of users in (0, 1]", fraction);
  UserSample s;
  if (fraction >= 1) return s;
  s.all = false;
  s.limit = uint64_t(std::max(1.0, std::floor(fraction * kTwo64)));
  return s;
}

bool UserSample::contains(const std::string& user_id) const { return all || user_hash(user_id, 0) < limit; }

double UserSample::fraction() const { return all ? 1.0 : double(limit) / kTwo64; }

UserSample UserSample::halved() const {
  UserSample s;
  s.all = false;
  s.limit = all ? (uint64_t(1) << 63) : std::max<uint64_t>(1, limit / 2);
  return s;
}

nlohmann::json SampleReport::to_json() const {
  nlohmann::json j{
      {"sampled", sampled},
      {"fraction", fraction},
      {"users", users},
      {"users_total", users_total},
      {"users_total_estimated", users_total_estimated},
      {"events", events},
      {"memory_budget", memory_budget},
      {"by", "user hash (FNV-1a + splitmix64, the spill files' hash): users whose hash < fraction * 2^64"}};
  if (needed_bytes > 0) j["needed_bytes"] = needed_bytes;
  if (!why.empty()) j["why"] = why;
  return j;
}

std::string SampleReport::describe() const {
  if (!sampled) return fmt::format("every user ({})", users);
  return fmt::format("a sample of {} of {}{} users ({:.4g}%, chosen by user hash) because of {}{}", users,
                     users_total_estimated ? "~" : "", users_total, 100 * fraction, why,
                     memory_budget ? fmt::format(" (budget {})", megabytes(double(memory_budget))) : "");
}

bool events_fit(const std::string& path, const SamplePlan& plan) {
  if (plan.sample_users < 1) return false;
  if (plan.memory_budget == 0) return true;
  std::error_code ec;
  const double events = double(std::filesystem::file_size(path, ec)) / 40;
  if (ec) return false;  // a pipe or special file: read it the bounded way
  // Users: one per 16 events, as spilled_profiles estimates.
  return plan.costs.bytes(events, events / 16) <= double(plan.memory_budget);
}

SampledEvents load_sampled_events(const std::string& path, const Catalog& catalog, RejectLog& rejects, int64_t as_of,
                                  const TableLayout& layout, const SamplePlan& plan) {
  SampledEvents out;
  SampleReport& rep = out.report;
  LoadedEvents& loaded = out.loaded;
  rep.memory_budget = plan.memory_budget;
  UserSample sample = UserSample::of_fraction(plan.sample_users);
  const double budget = plan.memory_budget ? double(plan.memory_budget) : std::numeric_limits<double>::infinity();
  bool halved_by_budget = false, floor_reached = false;

  std::unordered_map<std::string, uint32_t> index;  // sampled users only
  std::vector<uint64_t> hashes;                     // per sampled user
  DistinctCounter distinct;
  size_t accepted = 0;
  // Drops the users (and their events) outside the halved sample; users keep their order.
  auto halve = [&] {
    sample = sample.halved();
    std::vector<uint32_t> remap(loaded.user_ids.size(), UINT32_MAX);
    std::vector<std::string> ids;
    std::vector<uint64_t> kept_hashes;
    for (size_t u = 0; u < loaded.user_ids.size(); ++u)
      if (sample.contains(hashes[u])) {
        remap[u] = uint32_t(ids.size());
        ids.push_back(std::move(loaded.user_ids[u]));
        kept_hashes.push_back(hashes[u]);
      }
    size_t kept = 0;
    for (const Event& e : loaded.events)
      if (remap[e.user] != UINT32_MAX) {
        loaded.events[kept] = e;
        loaded.events[kept++].user = remap[e.user];
      }
    loaded.events.resize(kept);
    loaded.events.shrink_to_fit();
    loaded.user_ids = std::move(ids);
    hashes = std::move(kept_hashes);
    index.clear();
    for (size_t u = 0; u < loaded.user_ids.size(); ++u) index.emplace(loaded.user_ids[u], uint32_t(u));
  };

  const EventTimeWindow window = event_time_window(as_of);
  const std::vector<std::string>& columns = event_columns();  // the order of EventField
  RecordReader reader(path, {columns.begin(), columns.begin() + kEventSeekTo}, {columns[kEventSeekTo]}, layout);
  for (const auto& c : reader.ignored_columns()) spdlog::info("{}: ignoring column '{}'", path, c);
  Progress progress("reading " + path, "MB", double(reader.file_size()) / 1e6);
  Record r;
  while (reader.next(r)) {
    if (++loaded.rows % 65536 == 0) progress.update(double(reader.bytes_read()) / 1e6);
    Event ev;
    const std::string reason = parse_event_record(catalog, r, ev, &window);
    if (!reason.empty()) {
      rejects.reject(path, r.line, reason, r.raw);
      continue;
    }
    ++accepted;
    const std::string& id = r.fields[kEventUser];
    const uint64_t h = user_hash(id, 0);
    distinct.add(h);
    if (!sample.contains(h)) continue;
    auto [it, inserted] = index.try_emplace(id, uint32_t(loaded.user_ids.size()));
    if (inserted) {
      MARQUEE_CHECK_INPUT(loaded.user_ids.size() < std::numeric_limits<uint32_t>::max(), "{}: more than 2^32 users",
                          path);
      loaded.user_ids.push_back(id);
      hashes.push_back(h);
    }
    ev.user = it->second;
    ev.line = uint32_t(std::min<size_t>(r.line, std::numeric_limits<uint32_t>::max()));
    loaded.events.push_back(ev);
    // Over the budget: halve the sample, unless that would leave too few users to fit anything.
    while (plan.costs.bytes(double(loaded.events.size()), double(loaded.user_ids.size())) > budget) {
      if (loaded.user_ids.size() < 2 * kMinSampleUsers) {
        floor_reached = true;
        break;
      }
      halve();
      halved_by_budget = true;
    }
  }
  progress.finish(fmt::format("{} rows", loaded.rows));
  if (loaded.rows == 0) spdlog::warn("{} has no events", path);
  rejects.check_rate(path, loaded.rows);

  rep.sampled = !sample.all;
  rep.fraction = sample.fraction();
  rep.users = loaded.user_ids.size();
  rep.events = loaded.events.size();
  rep.users_total = rep.sampled ? std::max(distinct.estimate(), rep.users) : rep.users;
  rep.users_total_estimated = rep.sampled;
  if (rep.sampled) rep.needed_bytes = plan.costs.bytes(double(accepted), double(rep.users_total));
  if (plan.sample_users < 1) rep.why = "--sample-users";
  if (halved_by_budget) rep.why += std::string(rep.why.empty() ? "" : " and ") + "--memory-budget";
  if (floor_reached)
    spdlog::warn("--memory-budget {} is below what {} users need (~{}): kept the smallest sample", megabytes(budget),
                 loaded.user_ids.size(),
                 megabytes(plan.costs.bytes(double(loaded.events.size()), double(loaded.user_ids.size()))));
  return out;
}

UserProfiles read_sampled_profiles(ProfileSource& source, size_t seen_total, const SamplePlan& plan,
                                   SampleReport& rep) {
  const size_t users = source.users();
  rep = SampleReport{};
  rep.memory_budget = plan.memory_budget;
  rep.users_total = users;
  double fraction = plan.sample_users;
  if (plan.sample_users < 1) rep.why = "--sample-users";
  if (plan.memory_budget > 0) {
    const double need = plan.costs.bytes(double(seen_total), double(users)) - plan.costs.fixed;
    const double room = double(plan.memory_budget) - plan.costs.fixed;
    const double floor = users ? std::min(1.0, double(kMinSampleUsers) / double(users)) : 1.0;
    const double fits = need > 0 ? std::max(room, 0.0) / need : 1.0;
    if (fits < fraction) {
      fraction = std::max(fits, floor);
      rep.needed_bytes = need + plan.costs.fixed;
      rep.why += std::string(rep.why.empty() ? "" : " and ") + "--memory-budget";
    }
  }
  const UserSample sample = UserSample::of_fraction(fraction);
  UserProfiles out;
  if (sample.all) {
    out = source.read(0, users);
  } else {
    constexpr size_t kBatch = 4096;
    // Room for the expected sample and some slack, so that growing never doubles a buffer past the plan.
    const size_t expect_users = size_t(fraction * double(users) * 1.05) + kBatch;
    const size_t expect_seen = size_t(fraction * double(seen_total) * 1.05) + kBatch * 16;
    const size_t dim = users ? source.read(0, 1).dim : 0;
    out.user_ids.reserve(expect_users);
    out.summaries.reserve(expect_users);
    out.seen_offsets.reserve(expect_users + 1);
    out.vectors.reserve(expect_users * dim);
    out.seen.reserve(expect_seen);
    out.seen_offsets.push_back(0);
    for (size_t first = 0; first < users; first += kBatch) {
      const UserProfiles b = source.read(first, std::min(kBatch, users - first));
      out.dim = b.dim;
      for (size_t u = 0; u < b.size(); ++u) {
        if (!sample.contains(b.user_ids[u])) continue;
        out.user_ids.push_back(b.user_ids[u]);
        out.vectors.insert(out.vectors.end(), b.vector(u), b.vector(u) + b.dim);
        out.seen.insert(out.seen.end(), b.seen_begin(u), b.seen_end(u));
        out.seen_offsets.push_back(out.seen.size());
        out.summaries.push_back(b.summaries[u]);
      }
    }
  }
  rep.sampled = !sample.all;
  rep.fraction = sample.fraction();
  rep.users = out.size();
  rep.events = out.seen.size();
  return out;
}

}  // namespace marquee
