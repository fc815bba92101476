// Kernels of the GPU profile builder (declarations and contracts: kernels/profile_kernels.cuh). The
// engagement state machine is not written here: summarise_segments runs the same inline rules as
// the CPU model (engine/engagement_rules.h).
#include "engine/engagement_rules.h"
#include "kernels/profile_kernels.cuh"

namespace marquee::kernels {
namespace {

constexpr int kThreads = 256;
constexpr unsigned kFullMask = 0xffffffffu;

// Grid for a grid-stride loop over n items: enough blocks to fill an H200 many times over, capped
// so that the grid size never overflows.
unsigned grid_for(size_t n, int threads = kThreads) {
  const size_t blocks = (n + threads - 1) / threads;
  return unsigned(blocks < (size_t(1) << 20) ? blocks : (size_t(1) << 20));
}

__device__ inline uint64_t shift_left(uint64_t x, int shift) { return shift >= 64 ? 0 : x << shift; }

__device__ inline Event load_event(const EventColumns& c, size_t i) {
  Event e;
  e.ts = c.ts[i];
  e.user = c.user[i];
  e.title = c.title[i];
  e.position_s = c.position_s[i];
  e.seek_to_s = c.seek_to_s[i];
  e.line = c.line[i];
  e.type = EventType(c.type[i]);
  e.local_hour = c.local_hour[i];
  return e;
}

__global__ void check_events_kernel(const Event* events, size_t n, uint32_t n_users, uint32_t n_titles,
                                    EventScan* scan) {
  unsigned long long first_bad = ~0ull;
  long long lo = 0x7fffffffffffffffll, hi = -0x7fffffffffffffffll - 1;
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const Event e = events[i];
    // This thread's indices only grow, so its first bad one is its smallest.
    if (first_bad == ~0ull && (e.user >= n_users || e.title >= n_titles)) first_bad = i;
    lo = e.ts < lo ? e.ts : lo;
    hi = e.ts > hi ? e.ts : hi;
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    const unsigned long long b = __shfl_xor_sync(kFullMask, first_bad, offset);
    const long long l = __shfl_xor_sync(kFullMask, lo, offset);
    const long long h = __shfl_xor_sync(kFullMask, hi, offset);
    first_bad = b < first_bad ? b : first_bad;
    lo = l < lo ? l : lo;
    hi = h > hi ? h : hi;
  }
  if (threadIdx.x % 32 == 0) {
    if (first_bad != ~0ull) atomicMin(&scan->first_bad, first_bad);
    atomicMin(&scan->ts_min, lo);
    atomicMax(&scan->ts_max, hi);
  }
}

__global__ void make_sort_keys_kernel(const Event* events, const uint32_t* perm, size_t n, SortKeyLayout layout,
                                      uint64_t* keys) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const Event& e = events[perm ? perm[i] : i];
    uint64_t key = shift_left(e.user, layout.user_shift) | shift_left(e.title, layout.title_shift);
    if (layout.with_ts) key |= uint64_t(e.ts) - uint64_t(layout.ts_min);
    keys[i] = key;
  }
}

__global__ void gather_events_kernel(const Event* events, const uint32_t* perm, size_t n, EventColumns c) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const Event e = events[perm[i]];
    c.ts[i] = e.ts;
    c.user[i] = e.user;
    c.title[i] = e.title;
    c.position_s[i] = e.position_s;
    c.seek_to_s[i] = e.seek_to_s;
    c.line[i] = e.line;
    c.type[i] = uint8_t(e.type);
    c.local_hour[i] = e.local_hour;
  }
}

__global__ void classify_events_kernel(EventColumns c, size_t n, const uint32_t* run_begin, uint32_t* twin,
                                       uint8_t* dup, uint8_t* segment_start) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    // Every earlier event of the run is compared, kept or not: the first equal one is the CPU's twin
    // (kernels/profile_duplicates.h).
    const uint32_t first = first_occurrence(c, run_begin[i], uint32_t(i));
    twin[i] = first;
    dup[i] = first != i ? 1 : 0;
    segment_start[i] = i == 0 || !same_segment(c, i - 1, i) ? 1 : 0;
  }
}

__global__ void duplicate_lines_kernel(const uint32_t* dup_index, size_t count, const uint32_t* twin,
                                       const uint32_t* line, uint32_t* pairs) {
  for (size_t j = size_t(blockIdx.x) * blockDim.x + threadIdx.x; j < count; j += size_t(gridDim.x) * blockDim.x) {
    const uint32_t d = dup_index[j];
    pairs[2 * j] = line[d];
    pairs[2 * j + 1] = line[twin[d]];
  }
}

__global__ void summarise_segments_kernel(EventColumns c, const uint8_t* dup, const uint32_t* segment_begin,
                                          size_t segments, size_t n, const double* durations,
                                          EngagementOptions options, int64_t as_of, SeenRow* seen,
                                          SegmentColumns seg, SummaryRow* summaries) {
  for (size_t s = size_t(blockIdx.x) * blockDim.x + threadIdx.x; s < segments;
       s += size_t(gridDim.x) * blockDim.x) {
    const size_t begin = segment_begin[s];
    const size_t end = s + 1 < segments ? segment_begin[s + 1] : n;
    const uint32_t user = c.user[begin];
    const uint32_t title = c.title[begin];
    const double duration = durations[title];
    uint32_t* daypart = summaries[user].daypart;

    // The head of a segment is never a duplicate (duplicates share user and title with their twin).
    rules::EngagementState state;
    rules::engagement_start(state, load_event(c, begin));
    uint32_t kept = 0;
    for (size_t k = begin; k < end; ++k) {
      if (dup[k]) continue;
      const Event ev = load_event(c, k);
      ++kept;
      if (duration > 0) rules::engagement_step(state, ev, duration, options);
      if (ev.type == EventType::Play) atomicAdd(&daypart[ev.local_hour % 24], 1u);
    }
    // As EngagementModel::summarise: nothing to say about a title without a positive duration.
    const Engagement e = duration > 0 ? rules::engagement_finish(state, duration, options) : Engagement{};
    const float w = e.weight * rules::recency(e.last_ts, as_of, options);

    SeenRow row;
    row.title = title;
    row.weight = w;
    row.completed = uint8_t(e.completed);
    row.reserved[0] = row.reserved[1] = row.reserved[2] = 0;
    seen[s] = row;
    seg.user[s] = user;
    seg.events[s] = kept;
    seg.watched_s[s] = float(e.watched_s);
    seg.abandoned[s] = uint8_t(e.abandoned);
  }
}

// One warp per user. The lanes split each title's sparse row (its columns are distinct, so no two
// lanes touch the same element) and the user's segments are taken in order, so each element is
// summed in the CPU's order without atomics.
__global__ void build_user_rows_kernel(const SeenRow* seen, SegmentColumns seg, const uint64_t* user_offsets,
                                       size_t users, size_t dim, const uint64_t* row_ptr, const uint32_t* col_idx,
                                       const float* values, float* vectors, SummaryRow* summaries,
                                       unsigned long long* unusable) {
  const size_t u = (size_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const unsigned lane = threadIdx.x % 32;
  if (u >= users) return;  // the whole warp leaves together
  const uint64_t first = user_offsets[u], last = user_offsets[u + 1];
  float* vec = vectors + u * dim;

  uint32_t events = 0, completed = 0, abandoned = 0;
  float watched = 0;
  for (uint64_t s = first; s < last; ++s) {
    const SeenRow r = seen[s];
    if (lane == 0) {
      events += seg.events[s];
      completed += r.completed;
      abandoned += seg.abandoned[s];
      watched += seg.watched_s[s];
    }
    if (r.weight != 0.0f) {
      const uint64_t end = row_ptr[r.title + 1];
      for (uint64_t k = row_ptr[r.title] + lane; k < end; k += 32) vec[col_idx[k]] += r.weight * values[k];
    }
    __syncwarp();  // the next title's row may touch the elements other lanes just wrote
  }

  double sum = 0;
  for (size_t j = lane; j < dim; j += 32) sum += double(vec[j]) * vec[j];
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(kFullMask, sum, offset);
  const double norm = sqrt(sum);
  const bool usable = norm > 1e-12;  // l2_normalise's result as marquee::build_profiles judges it
  if (usable) {
    const float inv = float(1.0 / norm);
    for (size_t j = lane; j < dim; j += 32) vec[j] *= inv;
  } else {
    for (size_t j = lane; j < dim; j += 32) vec[j] = 0.0f;
  }

  if (lane == 0) {
    SummaryRow& out = summaries[u];  // daypart was filled by summarise_segments
    out.events = events;
    out.titles = uint32_t(last - first);
    out.completed = completed;
    out.abandoned = abandoned;
    out.watched_s = watched;
    out.usable = usable ? 1 : 0;
    if (!usable) atomicAdd(unusable, 1ull);
  }
}

}  // namespace

void check_events(const Event* events, size_t n, uint32_t n_users, uint32_t n_titles, EventScan* scan,
                  cudaStream_t stream) {
  if (n == 0) return;
  check_events_kernel<<<grid_for(n), kThreads, 0, stream>>>(events, n, n_users, n_titles, scan);
}

void make_sort_keys(const Event* events, const uint32_t* perm, size_t n, SortKeyLayout layout, uint64_t* keys,
                    cudaStream_t stream) {
  if (n == 0) return;
  make_sort_keys_kernel<<<grid_for(n), kThreads, 0, stream>>>(events, perm, n, layout, keys);
}

void gather_events(const Event* events, const uint32_t* perm, size_t n, EventColumns cols, cudaStream_t stream) {
  if (n == 0) return;
  gather_events_kernel<<<grid_for(n), kThreads, 0, stream>>>(events, perm, n, cols);
}

void classify_events(EventColumns cols, size_t n, const uint32_t* run_begin, uint32_t* twin, uint8_t* dup,
                     uint8_t* segment_start, cudaStream_t stream) {
  if (n == 0) return;
  classify_events_kernel<<<grid_for(n), kThreads, 0, stream>>>(cols, n, run_begin, twin, dup, segment_start);
}

void duplicate_lines(const uint32_t* dup_index, size_t count, const uint32_t* twin, const uint32_t* line,
                     uint32_t* pairs, cudaStream_t stream) {
  if (count == 0) return;
  duplicate_lines_kernel<<<grid_for(count), kThreads, 0, stream>>>(dup_index, count, twin, line, pairs);
}

void summarise_segments(EventColumns cols, const uint8_t* dup, const uint32_t* segment_begin, size_t segments,
                        size_t n, const double* durations, const EngagementOptions& options, int64_t as_of,
                        SeenRow* seen, SegmentColumns seg, SummaryRow* summaries, cudaStream_t stream) {
  if (segments == 0) return;
  // Fewer threads per block than the element-wise kernels: each thread carries the state machine.
  constexpr int kSegmentThreads = 128;
  summarise_segments_kernel<<<grid_for(segments, kSegmentThreads), kSegmentThreads, 0, stream>>>(
      cols, dup, segment_begin, segments, n, durations, options, as_of, seen, seg, summaries);
}

void build_user_rows(const SeenRow* seen, SegmentColumns seg, const uint64_t* user_offsets, size_t users, size_t dim,
                     const uint64_t* row_ptr, const uint32_t* col_idx, const float* values, float* vectors,
                     SummaryRow* summaries, unsigned long long* unusable, cudaStream_t stream) {
  if (users == 0) return;
  constexpr size_t kUsersPerBlock = kThreads / 32;
  const unsigned blocks = unsigned((users + kUsersPerBlock - 1) / kUsersPerBlock);
  build_user_rows_kernel<<<blocks, kThreads, 0, stream>>>(seen, seg, user_offsets, users, dim, row_ptr, col_idx,
                                                          values, vectors, summaries, unusable);
}

}  // namespace marquee::kernels
