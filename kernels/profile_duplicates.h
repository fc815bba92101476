// The duplicate rule of the GPU profile builder on sorted event columns, in plain C++ marked
// MARQUEE_HD, so that the kernels (kernels/profile_kernels.cu, host/cuda/cuda_profiles.cu) and a
// CPU-only test (tests/test_cuda_host.cpp, against marquee::build_profiles) run the same code.
//
// The rule is the CPU's (engine/profiles.cpp, docs/engagement.md): after the stable sort by
// (user, title, ts), an event is an exact duplicate when an earlier event of the same
// (user, title, ts) -- its run -- has the same type, position and, for seeks, seek target, wherever
// it falls in the run. The CPU compares each event with the kept events of its run; the kept ones
// are exactly the first occurrences (equality is transitive), so "the first equal event of the run"
// is both the CPU's twin and the GPU's, and it is always kept.
#pragma once

#include "engine/events.h"
#include "engine/hd.h"

#include <cstddef>
#include <cstdint>

namespace marquee::kernels {

/// Sorted events as columns (structure of arrays), n long.
struct EventColumns {
  int64_t* ts = nullptr;
  uint32_t* user = nullptr;
  uint32_t* title = nullptr;
  float* position_s = nullptr;
  float* seek_to_s = nullptr;
  uint32_t* line = nullptr;
  uint8_t* type = nullptr;  // EventType
  uint8_t* local_hour = nullptr;
};

/// Events a and b share (user, title): one segment of the engagement rules.
MARQUEE_HD inline bool same_segment(const EventColumns& c, size_t a, size_t b) {
  return c.user[a] == c.user[b] && c.title[a] == c.title[b];
}

/// Events a and b share (user, title, ts): one run of the duplicate rule.
MARQUEE_HD inline bool same_run(const EventColumns& c, size_t a, size_t b) {
  return same_segment(c, a, b) && c.ts[a] == c.ts[b];
}

/// marquee::build_profiles's same_event: same run, type and position, and seek target for seeks.
MARQUEE_HD inline bool same_event(const EventColumns& c, size_t a, size_t b) {
  return same_run(c, a, b) && c.type[a] == c.type[b] && c.position_s[a] == c.position_s[b] &&
         (c.type[a] != uint8_t(EventType::Seek) || c.seek_to_s[a] == c.seek_to_s[b]);
}

/// Index of the first event of i's run equal to event i, run_begin being the run's first index:
/// i itself when event i is kept, else its twin (kept, and the one the report names). A forward
/// scan, so a run of one repeated event costs one compare per event; runs are a handful of events.
MARQUEE_HD inline uint32_t first_occurrence(const EventColumns& c, uint32_t run_begin, uint32_t i) {
  for (uint32_t k = run_begin; k < i; ++k)
    if (same_event(c, k, i)) return k;
  return i;
}

}  // namespace marquee::kernels
