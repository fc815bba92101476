// Prometheus text exposition (format 0.0.4) for the front service: counters, gauges and histograms
// with labels, kept in one small registry behind a mutex (a few thousand updates a second cost
// nothing next to a scoring batch). GET /metrics renders it.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace marquee::server {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  /// Declares a family once; updating an undeclared family throws (a typo is a bug, not a new metric).
  void add_counter(const std::string& name, const std::string& help);
  void add_gauge(const std::string& name, const std::string& help);
  /// `bounds`: upper bucket bounds, ascending; +Inf is added.
  void add_histogram(const std::string& name, const std::string& help, std::vector<double> bounds);

  void inc(const std::string& name, const Labels& labels = {}, double by = 1);
  void set(const std::string& name, const Labels& labels, double value);
  /// Sets `labels` to `value` and drops the family's other series: an info gauge such as
  /// marquee_model_info{version=...}, whose labels change when the model does.
  void set_only(const std::string& name, const Labels& labels, double value);
  void observe(const std::string& name, const Labels& labels, double value);
  /// Sets a counter to a total kept elsewhere (the kernel's CPU time): for process_* series only.
  void set_total(const std::string& name, const Labels& labels, double value);

  /// Value of a counter or gauge series (0 when absent); for tests and the log.
  double value(const std::string& name, const Labels& labels = {}) const;
  /// Observations of a histogram series.
  uint64_t count(const std::string& name, const Labels& labels = {}) const;

  std::string render() const;

  /// Latency buckets in seconds (100 µs .. 2.5 s) and batch-size buckets (1 .. 4096).
  static std::vector<double> latency_buckets();
  static std::vector<double> size_buckets();

 private:
  enum class Kind { Counter, Gauge, Histogram };
  struct Series {
    double value = 0;                // counter / gauge
    std::vector<uint64_t> buckets;   // histogram: per bucket (not cumulative), last = +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  struct Family {
    Kind kind = Kind::Counter;
    std::string help;
    std::vector<double> bounds;
    std::map<std::string, Series> series;  // key: rendered label set
  };
  Family& family(const std::string& name, Kind kind);
  const Family* find(const std::string& name) const;
  static std::string label_text(const Labels& labels);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

}  // namespace marquee::server
