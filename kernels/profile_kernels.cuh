// Device side of the GPU profile builder (host/cuda/cuda_profiles.cu sequences these with Thrust):
// event checks and sort keys, a gather into sorted columns, duplicate and segment marking, one
// thread per (user, title) running the shared engagement rules (engine/engagement_rules.h), and one
// warp per user for the vector, its normalisation and the summary.
#pragma once

#include "engine/engagement.h"
#include "engine/events.h"
#include "kernels/profile_duplicates.h"  // EventColumns and the duplicate rule

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace marquee::kernels {

/// Device twin of SeenTitle (engine/profiles.h); the host checks that the layouts agree, so results
/// are copied straight into UserProfiles::seen.
struct SeenRow {
  uint32_t title;
  float weight;
  uint8_t completed;
  uint8_t reserved[3];
};

/// Device twin of UserSummary (engine/profiles.h), same layout (checked on the host).
struct SummaryRow {
  uint32_t events;
  uint32_t titles;
  uint32_t completed;
  uint32_t abandoned;
  float watched_s;
  uint32_t daypart[24];
  uint8_t usable;
  uint8_t reserved[3];
};

/// Per-segment (user, title) results besides the SeenRow, segments long.
struct SegmentColumns {
  uint32_t* user = nullptr;
  uint32_t* events = nullptr;   // events kept (duplicates dropped)
  float* watched_s = nullptr;   // float(Engagement::watched_s), as the CPU sums it
  uint8_t* abandoned = nullptr;
};

/// What check_events finds: the first event (input order) whose user or title is out of range, and
/// the timestamp range. Initialise with `initial()`.
struct EventScan {
  unsigned long long first_bad;  // index; ~0 when all are valid
  long long ts_min;
  long long ts_max;
  static EventScan initial() { return EventScan{~0ull, 0x7fffffffffffffffll, -0x7fffffffffffffffll - 1}; }
};

/// Sort key of an event: (user << user_shift) | (title << title_shift) | (with_ts ? ts - ts_min : 0),
/// a shift of 64 or more dropping that field. Chosen on the host so that the key orders by
/// (user, title, ts) in one pass when the fields fit in 64 bits, or by ts and then (user, title).
struct SortKeyLayout {
  int user_shift = 64;
  int title_shift = 64;
  bool with_ts = false;
  int64_t ts_min = 0;
};

/// Scans the input events (AoS, as uploaded): range checks against n_users / n_titles and the
/// timestamp range, into *scan (initialised by the caller).
void check_events(const Event* events, size_t n, uint32_t n_users, uint32_t n_titles, EventScan* scan,
                  cudaStream_t stream);

/// keys[i] = key of events[perm ? perm[i] : i].
void make_sort_keys(const Event* events, const uint32_t* perm, size_t n, SortKeyLayout layout, uint64_t* keys,
                    cudaStream_t stream);

/// cols[i] = events[perm[i]], column by column.
void gather_events(const Event* events, const uint32_t* perm, size_t n, EventColumns cols, cudaStream_t stream);

/// For sorted columns, run_begin[i] being the first index of event i's (user, title, ts) run:
/// twin[i] = first_occurrence(cols, run_begin[i], i) (kernels/profile_duplicates.h), dup[i] = 1 when
/// that is not i (an exact repeat of an earlier event of the run, dropped as marquee::build_profiles
/// drops it); segment_start[i] = 1 when event i begins a new (user, title).
void classify_events(EventColumns cols, size_t n, const uint32_t* run_begin, uint32_t* twin, uint8_t* dup,
                     uint8_t* segment_start, cudaStream_t stream);

/// pairs[2j], pairs[2j + 1] = line of duplicate dup_index[j], line of its kept twin
/// (twin[dup_index[j]]).
void duplicate_lines(const uint32_t* dup_index, size_t count, const uint32_t* twin, const uint32_t* line,
                     uint32_t* pairs, cudaStream_t stream);

/// One thread per segment [segment_begin[s], segment_begin[s + 1]) (the last ends at n): runs the
/// engagement rules over its kept events, writes seen[s] (weight after recency decay relative to
/// as_of) and seg, and counts session starts into summaries[user].daypart (which must be zeroed).
void summarise_segments(EventColumns cols, const uint8_t* dup, const uint32_t* segment_begin, size_t segments,
                        size_t n, const double* durations, const EngagementOptions& options, int64_t as_of,
                        SeenRow* seen, SegmentColumns seg, SummaryRow* summaries, cudaStream_t stream);

/// One warp per user u: vectors[u] (dim floats, zeroed by the caller) = sum over the user's segments
/// [user_offsets[u], user_offsets[u + 1]) of weight x CSR title row, then L2-normalised (zero when
/// the norm is <= 1e-12, and the user is unusable); fills the summary except daypart; counts
/// unusable users into *unusable.
void build_user_rows(const SeenRow* seen, SegmentColumns seg, const uint64_t* user_offsets, size_t users, size_t dim,
                     const uint64_t* row_ptr, const uint32_t* col_idx, const float* values, float* vectors,
                     SummaryRow* summaries, unsigned long long* unusable, cudaStream_t stream);

}  // namespace marquee::kernels
