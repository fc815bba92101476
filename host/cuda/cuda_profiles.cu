// The GPU profile builder: the twin of marquee::build_profiles (engine/profiles.cpp), with the same
// engagement rules (engine/engagement_rules.h) run on the device. Host orchestration only; the
// kernels are in kernels/profile_kernels.cu.
//
//   1. Upload the events as they are (one copy of the Event array) and check them on the device:
//      index ranges (the first bad event is reported as the CPU reports it) and the ts range.
//   2. Order by (user, title, ts), equal timestamps in input order: stable radix sorts of a
//      permutation under a packed 64-bit key, one pass when user, title and ts - ts_min fit in 64
//      bits together, otherwise ts first and then (user, title) (LSD), then one gather into sorted
//      columns (structure of arrays), so every later pass reads coalesced.
//   3. Mark exact duplicates as the CPU does: a max-scan gives each event the start of its
//      (user, title, ts) run, and each event is compared with the earlier events of its run (the
//      rule in kernels/profile_duplicates.h); duplicates are dropped and reported as (line, line of
//      the first equal event) in sorted order. Mark the (user, title) segment starts and compact
//      them into segment offsets.
//   4. One thread per segment runs the engagement state machine over its kept events: the seen
//      entry (weight x recency), per-segment totals, and the daypart histogram (atomics).
//   5. One warp per user sums weight x the sparse title rows of its segments in order, normalises
//      (zero and unusable below the CPU's 1e-12 norm) and writes the summary.
//   6. Copy vectors, seen lists, offsets and summaries straight into a UserProfiles: the device
//      rows have the host structs' layout (checked below), so there is no per-user or per-event
//      host work besides the duplicate report.
//
// Thrust runs on the builder's stream, and its temporaries come from DeviceAllocator like every
// other device buffer.
#include "host/cuda/entry_points.h"
#include "engine/error.h"
#include "engine/profiles.h"
#include "host/cuda/device_resources.h"
#include "kernels/profile_kernels.cuh"

#include <thrust/binary_search.h>
#include <thrust/copy.h>
#include <thrust/count.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>
#include <thrust/scan.h>
#include <thrust/sequence.h>
#include <thrust/sort.h>
#include <thrust/system/cuda/execution_policy.h>
#include <thrust/system_error.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

namespace marquee::cuda {
namespace {

using kernels::SeenRow;
using kernels::SummaryRow;

// The device writes these rows and the host copies them into the profile's vectors unchanged.
static_assert(std::is_trivially_copyable_v<SeenTitle> && sizeof(SeenRow) == sizeof(SeenTitle) &&
              offsetof(SeenRow, title) == offsetof(SeenTitle, title) &&
              offsetof(SeenRow, weight) == offsetof(SeenTitle, weight) &&
              offsetof(SeenRow, completed) == offsetof(SeenTitle, completed));
static_assert(std::is_trivially_copyable_v<UserSummary> && sizeof(SummaryRow) == sizeof(UserSummary) &&
              sizeof(UserSummary::daypart) == sizeof(SummaryRow::daypart) &&
              offsetof(SummaryRow, events) == offsetof(UserSummary, events) &&
              offsetof(SummaryRow, titles) == offsetof(UserSummary, titles) &&
              offsetof(SummaryRow, completed) == offsetof(UserSummary, completed) &&
              offsetof(SummaryRow, abandoned) == offsetof(UserSummary, abandoned) &&
              offsetof(SummaryRow, watched_s) == offsetof(UserSummary, watched_s) &&
              offsetof(SummaryRow, daypart) == offsetof(UserSummary, daypart) &&
              offsetof(SummaryRow, usable) == offsetof(UserSummary, usable));
static_assert(std::is_trivially_copyable_v<Event>, "events are uploaded as bytes");

/// Thrust's temporary storage through the project's one allocator.
struct ThrustAllocator {
  using value_type = char;
  char* allocate(std::ptrdiff_t bytes) {
    return static_cast<char*>(DeviceAllocator::allocate(bytes > 0 ? size_t(bytes) : 1));
  }
  void deallocate(char* p, size_t) noexcept { DeviceAllocator::release(p); }
};

struct IsSet {
  __host__ __device__ bool operator()(uint8_t flag) const { return flag != 0; }
};

/// i for the first event of a (user, title, ts) run, else 0: a running maximum gives each event
/// the index where its run begins.
struct RunHead {
  kernels::EventColumns cols;
  __host__ __device__ uint32_t operator()(uint32_t i) const {
    return i == 0 || !kernels::same_run(cols, i - 1, i) ? i : 0u;
  }
};

struct MaxU32 {
  __host__ __device__ uint32_t operator()(uint32_t a, uint32_t b) const { return a < b ? b : a; }
};

int bit_width(uint64_t x) {
  int bits = 0;
  for (; x != 0; x >>= 1) ++bits;
  return bits;
}

template <typename T>
void upload(T* device, const T* host, size_t count, cudaStream_t stream) {
  if (count > 0)
    MARQUEE_CUDA_CHECK(cudaMemcpyAsync(device, host, count * sizeof(T), cudaMemcpyHostToDevice, stream));
}

void download_bytes(void* host, const void* device, size_t bytes, cudaStream_t stream) {
  if (bytes > 0) MARQUEE_CUDA_CHECK(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, stream));
}

template <typename T>
void zero(T* device, size_t count, cudaStream_t stream) {
  if (count > 0) MARQUEE_CUDA_CHECK(cudaMemsetAsync(device, 0, count * sizeof(T), stream));
}

void check_launch() { MARQUEE_CUDA_CHECK(cudaGetLastError()); }

/// Sorted events as owned columns.
struct SortedEvents {
  DeviceBuffer<int64_t> ts;
  DeviceBuffer<uint32_t> user, title, line;
  DeviceBuffer<float> position_s, seek_to_s;
  DeviceBuffer<uint8_t> type, local_hour;

  explicit SortedEvents(size_t n)
      : ts(n), user(n), title(n), line(n), position_s(n), seek_to_s(n), type(n), local_hour(n) {}
  kernels::EventColumns view() const {
    return kernels::EventColumns{ts.data(),        user.data(),      title.data(), position_s.data(),
                                 seek_to_s.data(), line.data(),      type.data(),  local_hour.data()};
  }
};

template <typename Policy>
void sort_by_key_bits(const Policy& policy, uint64_t* keys, uint32_t* perm, size_t n, int key_bits) {
  if (key_bits > 0) thrust::stable_sort_by_key(policy, keys, keys + n, perm);  // radix sort: stable
}

UserProfiles build_on_device(const Catalog& catalog, const TitleMatrix& titles, const std::vector<Event>& events,
                             std::vector<std::string> user_ids, const EngagementOptions& options,
                             ProfileBuildStats& stats, int device) {
  const size_t n = events.size();
  const size_t n_users = user_ids.size();
  const size_t n_titles = catalog.num_titles();
  const size_t dim = titles.dim();

  Resources res(device);
  const cudaStream_t stream = res.stream();
  ThrustAllocator alloc;
  const auto policy = thrust::cuda::par(alloc).on(stream);
  using Count = thrust::counting_iterator<uint32_t>;

  int64_t as_of = options.as_of;
  size_t segments = 0;
  DeviceBuffer<uint32_t> d_segment_begin;
  DeviceBuffer<uint8_t> d_dup;
  std::unique_ptr<SortedEvents> sorted;

  if (n > 0) {
    // 1. Upload and check.
    DeviceBuffer<Event> d_raw(n);
    upload(d_raw.data(), events.data(), n, stream);
    DeviceBuffer<kernels::EventScan> d_scan(1);
    kernels::EventScan scan = kernels::EventScan::initial();
    upload(d_scan.data(), &scan, 1, stream);
    kernels::check_events(d_raw.data(), n, uint32_t(n_users), uint32_t(n_titles), d_scan.data(), stream);
    check_launch();
    download_bytes(&scan, d_scan.data(), sizeof scan, stream);
    res.sync();
    if (scan.first_bad != ~0ull) {
      const Event& ev = events[scan.first_bad];
      MARQUEE_CHECK_ARG(ev.user < n_users, "event for user index {} but only {} users", ev.user, n_users);
      MARQUEE_CHECK_ARG(ev.title < n_titles, "event for title index {} but only {} titles", ev.title, n_titles);
    }
    // As the CPU: the latest kept event, never below 0 (a duplicate never holds the only maximum).
    if (as_of == 0) as_of = scan.ts_max > 0 ? int64_t(scan.ts_max) : 0;

    // 2. Order by (user, title, ts), stable.
    {
      DeviceBuffer<uint32_t> d_perm(n);
      {
        DeviceBuffer<uint64_t> d_keys(n);
        thrust::sequence(policy, d_perm.data(), d_perm.data() + n);
        const int user_bits = bit_width(n_users - 1);
        const int title_bits = bit_width(n_titles - 1);
        const int ts_bits = bit_width(uint64_t(scan.ts_max) - uint64_t(scan.ts_min));
        kernels::SortKeyLayout layout;
        layout.ts_min = scan.ts_min;
        layout.with_ts = true;
        if (user_bits + title_bits + ts_bits <= 64) {
          layout.user_shift = title_bits + ts_bits;
          layout.title_shift = ts_bits;
          kernels::make_sort_keys(d_raw.data(), nullptr, n, layout, d_keys.data(), stream);
          check_launch();
          sort_by_key_bits(policy, d_keys.data(), d_perm.data(), n, user_bits + title_bits + ts_bits);
        } else {
          // Least significant first: ts, then (user, title); stability keeps the ts order within.
          kernels::make_sort_keys(d_raw.data(), nullptr, n, layout, d_keys.data(), stream);
          check_launch();
          sort_by_key_bits(policy, d_keys.data(), d_perm.data(), n, ts_bits);
          kernels::SortKeyLayout outer;
          outer.user_shift = title_bits;
          outer.title_shift = 0;
          kernels::make_sort_keys(d_raw.data(), d_perm.data(), n, outer, d_keys.data(), stream);
          check_launch();
          sort_by_key_bits(policy, d_keys.data(), d_perm.data(), n, user_bits + title_bits);
        }
      }
      sorted = std::make_unique<SortedEvents>(n);
      kernels::gather_events(d_raw.data(), d_perm.data(), n, sorted->view(), stream);
      check_launch();
    }

    // 3. Duplicates and segments.
    d_dup = DeviceBuffer<uint8_t>(n);
    DeviceBuffer<uint8_t> d_start(n);
    DeviceBuffer<uint32_t> d_twin(n);
    {
      DeviceBuffer<uint32_t> d_run_begin(n);
      const auto run_head = thrust::make_transform_iterator(Count(0), RunHead{sorted->view()});
      thrust::inclusive_scan(policy, run_head, run_head + n, d_run_begin.data(), MaxU32{});
      kernels::classify_events(sorted->view(), n, d_run_begin.data(), d_twin.data(), d_dup.data(), d_start.data(),
                               stream);
      check_launch();
    }
    const size_t dups = size_t(thrust::count(policy, d_dup.data(), d_dup.data() + n, uint8_t(1)));
    stats.events_used = n - dups;
    if (dups > 0) {
      DeviceBuffer<uint32_t> d_dup_index(dups);
      thrust::copy_if(policy, Count(0), Count(uint32_t(n)), d_dup.data(), d_dup_index.data(), IsSet{});
      DeviceBuffer<uint32_t> d_pairs(2 * dups);
      kernels::duplicate_lines(d_dup_index.data(), dups, d_twin.data(), sorted->line.data(), d_pairs.data(), stream);
      check_launch();
      std::vector<uint32_t> pairs(2 * dups);
      download_bytes(pairs.data(), d_pairs.data(), pairs.size() * sizeof(uint32_t), stream);
      res.sync();
      stats.duplicates.reserve(dups);
      for (size_t j = 0; j < dups; ++j) stats.duplicates.emplace_back(pairs[2 * j], pairs[2 * j + 1]);
    }
    d_segment_begin = DeviceBuffer<uint32_t>(n);
    segments = size_t(thrust::copy_if(policy, Count(0), Count(uint32_t(n)), d_start.data(), d_segment_begin.data(),
                                      IsSet{}) -
                      d_segment_begin.data());
  }
  stats.as_of = as_of;

  // 4. One thread per (user, title).
  std::vector<double> durations(n_titles);
  for (size_t t = 0; t < n_titles; ++t) durations[t] = catalog.titles()[t].duration_s;
  DeviceBuffer<double> d_durations(n_titles);
  upload(d_durations.data(), durations.data(), n_titles, stream);
  DeviceBuffer<SeenRow> d_seen(segments);
  DeviceBuffer<uint32_t> d_seg_user(segments), d_seg_events(segments);
  DeviceBuffer<float> d_seg_watched(segments);
  DeviceBuffer<uint8_t> d_seg_abandoned(segments);
  const kernels::SegmentColumns seg{d_seg_user.data(), d_seg_events.data(), d_seg_watched.data(),
                                    d_seg_abandoned.data()};
  DeviceBuffer<SummaryRow> d_summaries(n_users);
  zero(d_summaries.data(), n_users, stream);
  if (segments > 0) {
    kernels::summarise_segments(sorted->view(), d_dup.data(), d_segment_begin.data(), segments, n,
                                d_durations.data(), options, as_of, d_seen.data(), seg, d_summaries.data(), stream);
    check_launch();
  }
  sorted.reset();
  d_dup = {};
  d_segment_begin = {};

  // Each user's segments: seg_user is sorted, so user u's run starts at lower_bound(u).
  DeviceBuffer<uint64_t> d_user_offsets(n_users + 1);
  if (segments > 0)
    thrust::lower_bound(policy, d_seg_user.data(), d_seg_user.data() + segments, Count(0),
                        Count(uint32_t(n_users + 1)), d_user_offsets.data());
  else
    zero(d_user_offsets.data(), n_users + 1, stream);

  // 5. One warp per user: vector, normalisation, summary.
  DeviceBuffer<uint64_t> d_row_ptr(titles.row_ptr().size());
  DeviceBuffer<uint32_t> d_col_idx(titles.col_idx().size());
  DeviceBuffer<float> d_values(titles.values().size());
  upload(d_row_ptr.data(), titles.row_ptr().data(), titles.row_ptr().size(), stream);
  upload(d_col_idx.data(), titles.col_idx().data(), titles.col_idx().size(), stream);
  upload(d_values.data(), titles.values().data(), titles.values().size(), stream);
  DeviceBuffer<float> d_vectors(n_users * dim);
  zero(d_vectors.data(), n_users * dim, stream);
  DeviceBuffer<unsigned long long> d_unusable(1);
  zero(d_unusable.data(), 1, stream);
  kernels::build_user_rows(d_seen.data(), seg, d_user_offsets.data(), n_users, dim, d_row_ptr.data(),
                           d_col_idx.data(), d_values.data(), d_vectors.data(), d_summaries.data(),
                           d_unusable.data(), stream);
  check_launch();

  // 6. Straight into the profile.
  UserProfiles p;
  p.dim = dim;
  p.user_ids = std::move(user_ids);
  p.vectors.resize(n_users * dim);
  p.seen_offsets.resize(n_users + 1);
  p.seen.resize(segments);
  p.summaries.resize(n_users);
  unsigned long long unusable = 0;
  download_bytes(p.vectors.data(), d_vectors.data(), p.vectors.size() * sizeof(float), stream);
  download_bytes(p.seen_offsets.data(), d_user_offsets.data(), p.seen_offsets.size() * sizeof(uint64_t), stream);
  download_bytes(p.seen.data(), d_seen.data(), p.seen.size() * sizeof(SeenTitle), stream);
  download_bytes(p.summaries.data(), d_summaries.data(), p.summaries.size() * sizeof(UserSummary), stream);
  download_bytes(&unusable, d_unusable.data(), sizeof unusable, stream);
  res.sync();
  stats.unusable_users = size_t(unusable);
  return p;
}

}  // namespace

bool profiles_available() { return true; }

UserProfiles build_profiles(const Catalog& catalog, const TitleMatrix& titles, std::vector<Event> events,
                            std::vector<std::string> user_ids, const EngagementOptions& options,
                            ProfileBuildStats* stats_out, int device) {
  require_device(device, "GPU profile building");
  MARQUEE_CHECK_ARG(titles.num_titles() == catalog.num_titles(),
                    "the title matrix has {} titles but the catalogue has {}", titles.num_titles(),
                    catalog.num_titles());
  // Events, users and titles are indexed with 32 bits on the device.
  MARQUEE_CHECK_ARG(events.size() < UINT32_MAX, "GPU profile building takes at most {} events; got {}",
                    UINT32_MAX - 1, events.size());
  MARQUEE_CHECK_ARG(user_ids.size() < UINT32_MAX, "GPU profile building takes at most {} users; got {}",
                    UINT32_MAX - 1, user_ids.size());
  MARQUEE_CHECK_ARG(catalog.num_titles() < UINT32_MAX, "GPU profile building takes at most {} titles; got {}",
                    UINT32_MAX - 1, catalog.num_titles());

  ProfileBuildStats stats;
  UserProfiles p;
  try {
    p = build_on_device(catalog, titles, events, std::move(user_ids), options, stats, device);
  } catch (const thrust::system_error& e) {
    MARQUEE_THROW_AS(BackendError, "GPU profile building: {}", e.what());
  }
  if (stats_out) *stats_out = std::move(stats);
  return p;
}

}  // namespace marquee::cuda
