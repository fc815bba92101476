#include "host/jobs/spilled_profiles.h"

#include "engine/error.h"
#include "host/io/atomic_file.h"
#include "host/io/events_io.h"
#include "host/io/profile_io.h"
#include "host/io/record_reader.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <queue>
#include <unordered_map>

namespace marquee {
namespace fs = std::filesystem;

namespace {

// Spill record: u32 id length, the id, the Event as it is in memory (the file lives one run on one machine).
using File = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

File open_file(const std::string& path, const char* mode) {
  File f(std::fopen(path.c_str(), mode), &std::fclose);
  MARQUEE_CHECK_INPUT(f != nullptr, "cannot open spill file {}: {}", path, std::strerror(errno));
  return f;
}

void write_record(std::FILE* f, const std::string& id, const Event& ev, const std::string& path) {
  const uint32_t len = uint32_t(id.size());
  if (std::fwrite(&len, 4, 1, f) != 1 || std::fwrite(id.data(), 1, len, f) != len ||
      std::fwrite(&ev, sizeof ev, 1, f) != 1)
    MARQUEE_THROW_AS(InputError, "write to spill file {} failed: {} (is the disk full? --spill-dir elsewhere)", path,
                     std::strerror(errno));
}

bool read_record(std::FILE* f, std::string& id, Event& ev) {
  uint32_t len = 0;
  if (std::fread(&len, 4, 1, f) != 1) return false;
  id.resize(len);
  MARQUEE_CHECK_INPUT(std::fread(id.data(), 1, len, f) == len && std::fread(&ev, sizeof ev, 1, f) == 1,
                      "a spill file is truncated");
  return true;
}

// A partition's spill file, and how many times it was split already.
struct Spill {
  std::string path;
  uint32_t level = 0;
};

// Distributes the records of `from` over `parts` new spill files by the next level's hash.
std::vector<Spill> split_spill(const Spill& from, size_t parts, const std::string& dir, size_t& next_id) {
  std::vector<Spill> out;
  std::vector<File> files;
  for (size_t i = 0; i < parts; ++i) {
    out.push_back({fmt::format("{}/s{}.bin", dir, next_id++), from.level + 1});
    files.push_back(open_file(out.back().path, "wb"));
  }
  File in = open_file(from.path, "rb");
  std::string id;
  Event ev;
  while (read_record(in.get(), id, ev)) {
    const size_t p = user_hash(id, from.level + 1) % parts;
    write_record(files[p].get(), id, ev, out[p].path);
  }
  in.reset();
  fs::remove(from.path);
  return out;
}

// One partition profiled: its profiles file and its users' first lines (ascending: users are
// numbered by first appearance within the partition, which keeps file order).
struct Profiled {
  std::string profiles, first_lines;
  uint64_t users = 0;
};

// A duplicate with the first line of its user: the in-memory build lists duplicates user by user in
// order of first appearance, so sorting on that line (stably) restores its order.
struct Duplicate {
  uint32_t user_first_line, line, twin;
};

uint64_t dir_bytes(const std::string& dir) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) bytes += it->file_size(ec);
  return bytes;
}

// Memory the in-memory build of a partition needs: events (with the sort's buffer and the line
// map), the id map, and the profiles.
size_t partition_bytes(size_t events, size_t users, size_t dim) {
  return events * (sizeof(Event) * 2 + 8 + sizeof(SeenTitle)) + users * (4 * dim + sizeof(UserSummary) + 160);
}

// The next user of one partition in the merge, read a chunk of users at a time.
struct MergeSource {
  std::unique_ptr<ProfileReader> reader;
  File first_lines{nullptr, &std::fclose};
  UserProfiles chunk;
  std::vector<uint32_t> lines;
  size_t next_user = 0, at = 0, chunk_users = 1;

  bool load() {  // the next chunk; false at the end
    const size_t n = std::min(chunk_users, reader->users() - next_user);
    if (n == 0) return false;
    chunk = reader->read(next_user, n);
    lines.resize(n);
    MARQUEE_CHECK_INPUT(std::fread(lines.data(), 4, n, first_lines.get()) == n, "a spill file is truncated");
    next_user += n;
    at = 0;
    return true;
  }
  uint32_t line() const { return lines[at]; }
};

void append_user(UserProfiles& to, const UserProfiles& from, size_t u) {
  to.user_ids.push_back(from.user_ids[u]);
  to.vectors.insert(to.vectors.end(), from.vector(u), from.vector(u) + from.dim);
  to.seen.insert(to.seen.end(), from.seen_begin(u), from.seen_end(u));
  to.seen_offsets.push_back(to.seen.size());
  to.summaries.push_back(from.summaries[u]);
}

}  // namespace

// A different hash per split level, so that a partition split again spreads over all its new
// partitions; the mixer spreads ids that differ in their last character over all of them.
uint64_t user_hash(const std::string& id, uint32_t level) {
  uint64_t h = 1469598103934665603ull ^ (uint64_t(level + 1) * 0x9E3779B97F4A7C15ull);
  for (unsigned char c : id) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 30, h *= 0xbf58476d1ce4e5b9ull, h ^= h >> 27, h *= 0x94d049bb133111ebull, h ^= h >> 31;
  return h;
}

size_t parse_memory_size(const std::string& text, const std::string& flag) {
  double value = 0;
  size_t used = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string unit = text.substr(used);
  for (char& c : unit) c = char(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() > 1 && unit.back() == 'B') unit.pop_back();  // "GB", "GiB" -> "G", "GI"
  if (unit.size() > 1 && unit.back() == 'I') unit.pop_back();
  const std::string units = "KMGT";
  const size_t power = unit.empty() || unit == "B" ? 0 : units.find(unit) + 1;
  MARQUEE_CHECK_ARG(used > 0 && std::isfinite(value) && value > 0 && (unit.size() <= 1) &&
                        (unit.empty() || unit == "B" || units.find(unit) != std::string::npos),
                    "{} '{}': expected a size such as 4G, 512M or 300000000 (bytes; K, M, G, T are powers of 1024)",
                    flag, text);
  const double bytes = value * std::pow(1024.0, double(power));
  MARQUEE_CHECK_ARG(bytes >= (1 << 20), "{} {}: at least 1M is needed (the catalogue and one batch)", flag, text);
  return size_t(std::min(bytes, double(std::numeric_limits<size_t>::max() / 2)));
}

size_t default_memory_budget() {
  uint64_t physical = uint64_t(::sysconf(_SC_PHYS_PAGES)) * uint64_t(::sysconf(_SC_PAGE_SIZE));
  // cgroup v2 (containers, systemd slices): "max" or a number of bytes.
  std::ifstream cg("/sys/fs/cgroup/memory.max");
  std::string limit;
  if (cg >> limit && limit != "max") {
    try {
      physical = std::min<uint64_t>(physical, std::stoull(limit));
    } catch (const std::exception&) {
    }
  }
  return size_t(physical / 2);
}

size_t estimate_in_memory_bytes(const std::string& events_path, size_t dim) {
  std::error_code ec;
  const uint64_t file_bytes = fs::file_size(events_path, ec);
  if (ec) return 0;  // not a regular file (a pipe): the reader reports it
  const uint64_t events = file_bytes / 40;
  return size_t(events * 64 + events / 16 * (4 * dim + 250));
}

SpillStats build_profiles_spilled(const Catalog& catalog, const TitleMatrix& titles, const std::string& events_path,
                                  const EngagementOptions& engagement, RejectLog& rejects, const std::string& out_path,
                                  size_t budget, const std::string& spill_dir, const TableLayout& layout) {
  SpillStats stats;
  const size_t dim = titles.dim();
  const std::string base = (fs::path(spill_dir.empty() ? "." : spill_dir) / "marquee-spill").string();
  remove_stale_temps(base);
  const std::string dir = base + ".tmp." + std::to_string(::getpid());
  fs::create_directories(dir);
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  // Partitions sized to a quarter of the budget: the rest is the catalogue, the merge's chunks and slack.
  const size_t target = std::max<size_t>(budget / 4, 1 << 20);
  const size_t first_parts =
      std::clamp<size_t>((estimate_in_memory_bytes(events_path, dim) + target - 1) / target, 2, 256);

  // 1. One streaming pass: every accepted event to its user's partition (the rules of load_events).
  size_t next_id = 0;
  std::vector<Spill> todo;
  int64_t max_ts = 0;
  {
    std::vector<File> files;
    for (size_t i = 0; i < first_parts; ++i) {
      todo.push_back({fmt::format("{}/s{}.bin", dir, next_id++), 0});
      files.push_back(open_file(todo.back().path, "wb"));
      std::setvbuf(files.back().get(), nullptr, _IOFBF, 1 << 16);
    }
    const EventTimeWindow window = event_time_window(engagement.as_of);
    const std::vector<std::string>& columns = event_columns();  // the order of EventField
    RecordReader reader(events_path, {columns.begin(), columns.begin() + kEventSeekTo}, {columns[kEventSeekTo]},
                        layout);
    for (const auto& c : reader.ignored_columns()) spdlog::info("{}: ignoring column '{}'", events_path, c);
    Record r;
    while (reader.next(r)) {
      ++stats.rows;
      Event ev;
      const std::string reason = parse_event_record(catalog, r, ev, &window);
      if (!reason.empty()) {
        rejects.reject(events_path, r.line, reason, r.raw);
        continue;
      }
      ev.line = uint32_t(std::min<size_t>(r.line, std::numeric_limits<uint32_t>::max()));
      max_ts = std::max(max_ts, ev.ts);
      const size_t p = user_hash(r.fields[kEventUser], 0) % first_parts;
      write_record(files[p].get(), r.fields[kEventUser], ev, todo[p].path);
    }
    for (size_t i = 0; i < files.size(); ++i)
      MARQUEE_CHECK_INPUT(std::fflush(files[i].get()) == 0, "write to spill file {} failed: {}", todo[i].path,
                          std::strerror(errno));
  }
  if (stats.rows == 0) spdlog::warn("{} has no events", events_path);
  rejects.check_rate(events_path, stats.rows);
  stats.spill_bytes = dir_bytes(dir);
  spdlog::info("spilled {} event rows into {} partitions ({:.1f} MB in {})", stats.rows, first_parts,
               stats.spill_bytes / 1e6, dir);

  // 2. Each partition profiled by the in-memory builder; one too big for the budget is split again.
  EngagementOptions options = engagement;
  if (options.as_of == 0) options.as_of = max_ts;  // recency from the latest event of the whole file, as in memory
  std::vector<Profiled> profiled;
  std::vector<Duplicate> duplicates;
  while (!todo.empty()) {
    const Spill spill = todo.back();
    todo.pop_back();
    const uint64_t bytes = fs::file_size(spill.path);
    constexpr uint32_t kMaxLevel = 4;
    if (bytes * 3 > target && spill.level < kMaxLevel) {  // its events alone would not fit: split unread
      const size_t parts = std::clamp<size_t>(bytes * 3 / target + 1, 2, 64);
      for (Spill& s : split_spill(spill, parts, dir, next_id)) todo.push_back(s);
      continue;
    }
    LoadedEvents loaded;
    std::vector<uint32_t> first_line;
    {
      std::unordered_map<std::string, uint32_t> index;
      File in = open_file(spill.path, "rb");
      std::string id;
      Event ev;
      while (read_record(in.get(), id, ev)) {
        auto [it, inserted] = index.try_emplace(id, uint32_t(loaded.user_ids.size()));
        if (inserted) {
          loaded.user_ids.push_back(id);
          first_line.push_back(ev.line);
        }
        ev.user = it->second;
        loaded.events.push_back(ev);
      }
    }
    const size_t need = partition_bytes(loaded.events.size(), loaded.user_ids.size(), dim);
    if (need > 2 * target && loaded.user_ids.size() > 1 && spill.level < kMaxLevel) {
      loaded = {};
      for (Spill& s : split_spill(spill, std::clamp<size_t>(need / target + 1, 2, 64), dir, next_id)) todo.push_back(s);
      continue;
    }
    if (need > 2 * target)
      spdlog::warn(
          "a partition of {} events ({} users) needs ~{:.0f} MB, more than the budget allows; building it "
          "anyway (one user's history cannot be split)",
          loaded.events.size(), loaded.user_ids.size(), need / 1e6);
    // The line -> user map for the duplicates (events are in file order: lines ascend).
    std::vector<std::pair<uint32_t, uint32_t>> line_user(loaded.events.size());
    for (size_t i = 0; i < loaded.events.size(); ++i) line_user[i] = {loaded.events[i].line, loaded.events[i].user};
    ProfileBuildStats bs;
    const UserProfiles p =
        build_profiles(catalog, titles, std::move(loaded.events), std::move(loaded.user_ids), options, &bs);
    for (const auto& [line, twin] : bs.duplicates) {
      const auto it = std::lower_bound(line_user.begin(), line_user.end(), std::make_pair(line, uint32_t(0)));
      MARQUEE_ASSERT(it != line_user.end() && it->first == line);
      duplicates.push_back({first_line[it->second], line, twin});
    }
    stats.build.events_used += bs.events_used;
    stats.build.unusable_users += bs.unusable_users;
    Profiled out{fmt::format("{}/p{}.bin", dir, profiled.size()), fmt::format("{}/p{}.lines", dir, profiled.size()),
                 p.size()};
    write_profiles(out.profiles, p, catalog.num_titles(), catalog.fingerprint());
    File lines = open_file(out.first_lines, "wb");
    MARQUEE_CHECK_INPUT(std::fwrite(first_line.data(), 4, first_line.size(), lines.get()) == first_line.size(),
                        "write to spill file {} failed: {}", out.first_lines, std::strerror(errno));
    lines.reset();
    fs::remove(spill.path);
    profiled.push_back(out);
    stats.users += p.size();
    stats.spill_bytes = std::max(stats.spill_bytes, dir_bytes(dir));
  }
  stats.partitions = profiled.size();
  stats.build.as_of = options.as_of;

  // 3. The partitions merged by their users' first lines: the order of the in-memory build.
  std::vector<MergeSource> sources(profiled.size());
  uint64_t seen_total = 0, id_bytes = 0;
  const size_t per_source = std::max<size_t>(target / std::max<size_t>(profiled.size(), 1), 1 << 16);
  for (size_t i = 0; i < profiled.size(); ++i) {
    MergeSource& s = sources[i];
    s.reader = std::make_unique<ProfileReader>(profiled[i].profiles);
    s.first_lines = open_file(profiled[i].first_lines, "rb");
    const ProfileFileInfo& info = s.reader->info();
    seen_total += info.seen_total;
    id_bytes += profile_id_bytes(*s.reader);
    const size_t per_user =
        4 * dim + sizeof(UserSummary) + 64 + sizeof(SeenTitle) * (info.users ? info.seen_total / info.users + 1 : 1);
    s.chunk_users = std::max<size_t>(1, per_source / per_user);
  }
  ProfileStreamWriter writer(out_path, dim, stats.users, seen_total, id_bytes, catalog.num_titles(),
                             catalog.fingerprint());
  auto later = [&](size_t a, size_t b) { return sources[a].line() > sources[b].line(); };
  std::priority_queue<size_t, std::vector<size_t>, decltype(later)> heap(later);
  for (size_t i = 0; i < sources.size(); ++i)
    if (sources[i].load()) heap.push(i);
  UserProfiles batch;
  const size_t batch_users = std::max<size_t>(1, per_source / (4 * dim + 256));
  auto flush = [&] {
    writer.append(batch, 0, batch.size());
    batch = UserProfiles{};
  };
  while (!heap.empty()) {
    const size_t i = heap.top();
    heap.pop();
    MergeSource& s = sources[i];
    if (batch.seen_offsets.empty()) batch.dim = dim, batch.seen_offsets.push_back(0);
    append_user(batch, s.chunk, s.at);
    if (batch.size() >= batch_users) flush();
    if (++s.at < s.chunk.size() || s.load()) heap.push(i);
  }
  if (batch.size() > 0) flush();
  writer.commit();

  std::stable_sort(duplicates.begin(), duplicates.end(),
                   [](const Duplicate& a, const Duplicate& b) { return a.user_first_line < b.user_first_line; });
  for (const Duplicate& d : duplicates) stats.build.duplicates.emplace_back(d.line, d.twin);
  reject_duplicates(events_path, stats.build.duplicates, rejects);
  spdlog::info(
      "profiles: {} users from {} events ({} with no usable signal), built in {} partitions within a "
      "{:.0f} MB budget, {:.1f} MB of spill files at most",
      stats.users, stats.build.events_used, stats.build.unusable_users, stats.partitions, budget / 1e6,
      stats.spill_bytes / 1e6);
  return stats;
}

}  // namespace marquee
