// Which user tile each of the CUDA scorer's lanes has in flight (host/cuda/cuda_scorer.cu), and the
// order in which tiles are launched and collected: host logic only, so that CPU tests drive it
// (tests/test_cuda_host.cpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <vector>

namespace marquee::cuda {

/// Users [first, first + count) of a batch.
struct UserRange {
  size_t first = 0, count = 0;
  bool operator==(const UserRange& o) const { return first == o.first && count == o.count; }
};

class LanePipeline {
 public:
  explicit LanePipeline(size_t lanes) : in_flight_(lanes) {}
  size_t lanes() const { return in_flight_.size(); }
  /// The tile `lane` has in flight, if any: between two runs, none.
  const std::optional<UserRange>& in_flight(size_t lane) const { return in_flight_[lane]; }

  /// Runs users [0, users) through the lanes in tiles of `per_tile` users, tile i on lane i % lanes:
  ///   launch(lane, range)  stages the tile and queues its work (asynchronous);
  ///   collect(lane, range) waits for the tile and copies its results out;
  ///   abandon(lane)        waits for whatever the lane still has queued, results unused (noexcept).
  /// A lane's previous tile is collected before the lane is reused, and every lane at the end.
  /// If launch or collect throws, every lane still marked in flight (the one being launched
  /// included) is abandoned and forgotten before the exception leaves: a later run never collects a
  /// tile of this one (into another batch's output), and no copy into a lane's host buffers is still
  /// pending when the lane is reused.
  template <typename Launch, typename Collect, typename Abandon>
  void run(size_t users, size_t per_tile, Launch&& launch, Collect&& collect, Abandon&& abandon) {
    const DrainOnExit<Abandon> drain{*this, abandon};  // a no-op when every tile was collected
    size_t tile = 0;
    for (size_t first = 0; first < users; first += per_tile, ++tile) {
      const size_t lane = tile % in_flight_.size();
      collect_lane(lane, collect);  // the lane's previous tile must be home before its buffers are reused
      const UserRange r{first, std::min(per_tile, users - first)};
      in_flight_[lane] = r;  // before launching: a launch that fails halfway has queued work too
      launch(lane, r);
    }
    for (size_t lane = 0; lane < in_flight_.size(); ++lane) collect_lane(lane, collect);
  }

 private:
  // Lane state is exception-safe: whatever leaves run() (normally or by an exception), no lane
  // stays marked in flight.
  template <typename Abandon>
  struct DrainOnExit {
    LanePipeline& pipeline;
    Abandon& abandon;
    ~DrainOnExit() {
      for (size_t lane = 0; lane < pipeline.in_flight_.size(); ++lane) {
        if (!pipeline.in_flight_[lane]) continue;
        abandon(lane);
        pipeline.in_flight_[lane].reset();
      }
    }
  };

  template <typename Collect>
  void collect_lane(size_t lane, Collect& collect) {
    if (!in_flight_[lane]) return;
    collect(lane, *in_flight_[lane]);
    in_flight_[lane].reset();
  }

  std::vector<std::optional<UserRange>> in_flight_;
};

}  // namespace marquee::cuda
