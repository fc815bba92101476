#include "host/server/metrics.h"

#include "engine/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace marquee::server {
namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", int64_t(v));
  return fmt::format("{}", v);
}

// Adds le="..." to a rendered label set.
std::string with_le(const std::string& labels, const std::string& le) {
  const std::string item = "le=\"" + le + "\"";
  if (labels.empty()) return "{" + item + "}";
  return labels.substr(0, labels.size() - 1) + "," + item + "}";
}

}  // namespace

std::vector<double> Metrics::latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
}

std::vector<double> Metrics::size_buckets() { return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096}; }

std::string Metrics::label_text(const Labels& labels) {
  if (labels.empty()) return "";
  std::string s = "{";
  for (size_t i = 0; i < labels.size(); ++i)
    s += fmt::format("{}{}=\"{}\"", i ? "," : "", labels[i].first, escape_label(labels[i].second));
  return s + "}";
}

void Metrics::add_counter(const std::string& name, const std::string& help) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = families_[name];
  f.kind = Kind::Counter;
  f.help = help;
}

void Metrics::add_gauge(const std::string& name, const std::string& help) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = families_[name];
  f.kind = Kind::Gauge;
  f.help = help;
}

void Metrics::add_histogram(const std::string& name, const std::string& help, std::vector<double> bounds) {
  MARQUEE_CHECK_ARG(std::is_sorted(bounds.begin(), bounds.end()), "histogram {} bounds must ascend", name);
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = families_[name];
  f.kind = Kind::Histogram;
  f.help = help;
  f.bounds = std::move(bounds);
}

Metrics::Family& Metrics::family(const std::string& name, Kind kind) {
  auto it = families_.find(name);
  MARQUEE_ASSERT(it != families_.end() && it->second.kind == kind);
  return it->second;
}

const Metrics::Family* Metrics::find(const std::string& name) const {
  auto it = families_.find(name);
  return it == families_.end() ? nullptr : &it->second;
}

void Metrics::inc(const std::string& name, const Labels& labels, double by) {
  std::lock_guard<std::mutex> lock(mu_);
  family(name, Kind::Counter).series[label_text(labels)].value += by;
}

void Metrics::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  family(name, Kind::Gauge).series[label_text(labels)].value = value;
}

void Metrics::set_total(const std::string& name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  family(name, Kind::Counter).series[label_text(labels)].value = value;
}

void Metrics::set_only(const std::string& name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = family(name, Kind::Gauge);
  f.series.clear();
  f.series[label_text(labels)].value = value;
}

void Metrics::observe(const std::string& name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = family(name, Kind::Histogram);
  Series& s = f.series[label_text(labels)];
  if (s.buckets.empty()) s.buckets.assign(f.bounds.size() + 1, 0);
  const size_t b = size_t(std::lower_bound(f.bounds.begin(), f.bounds.end(), value) - f.bounds.begin());
  ++s.buckets[b];
  s.sum += value;
  ++s.count;
}

double Metrics::value(const std::string& name, const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Family* f = find(name);
  if (!f) return 0;
  auto it = f->series.find(label_text(labels));
  return it == f->series.end() ? 0 : it->second.value;
}

uint64_t Metrics::count(const std::string& name, const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Family* f = find(name);
  if (!f) return 0;
  auto it = f->series.find(label_text(labels));
  return it == f->series.end() ? 0 : it->second.count;
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    const char* type = f.kind == Kind::Counter ? "counter" : f.kind == Kind::Gauge ? "gauge" : "histogram";
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, f.help, name, type);
    for (const auto& [labels, s] : f.series) {
      if (f.kind != Kind::Histogram) {
        out += fmt::format("{}{} {}\n", name, labels, number(s.value));
        continue;
      }
      uint64_t cumulative = 0;
      for (size_t b = 0; b < f.bounds.size(); ++b) {
        cumulative += s.buckets[b];
        out += fmt::format("{}_bucket{} {}\n", name, with_le(labels, number(f.bounds[b])), cumulative);
      }
      out += fmt::format("{}_bucket{} {}\n", name, with_le(labels, "+Inf"), s.count);
      out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, labels, number(s.sum), name, labels, s.count);
    }
  }
  return out;
}

}  // namespace marquee::server
