#include "host/io/rejects.h"

#include "engine/error.h"

#include <csv.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace marquee {

std::string csv_field(std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(value);
  std::string out(value.size() * 2 + 2, '\0');
  out.resize(csv_write(out.data(), out.size(), value.data(), value.size()));
  return out;
}

RejectLog::RejectLog(std::string rejects_path, bool strict, double max_reject_rate, size_t max_logged,
                     bool only_with_rows)
    : path_(std::move(rejects_path)),
      strict_(strict),
      max_rate_(max_reject_rate),
      max_logged_(max_logged),
      only_with_rows_(only_with_rows) {
  MARQUEE_CHECK_ARG(max_rate_ >= 0 && max_rate_ <= 1, "--max-reject-rate must be between 0 and 1; got {}", max_rate_);
  if (!path_.empty()) {
    file_ = std::make_unique<AtomicFile>(path_);
    file_->write("file,line,reason,row\n");
  }
}

void RejectLog::reject(const std::string& file, size_t line, const std::string& reason, std::string_view row) {
  // Reasons may carry the offending value ("unknown title_id 'x'"); count by the part before it.
  const std::string kind = reason.substr(0, std::min(reason.find(" '"), reason.find(" (")));
  if (strict_) MARQUEE_THROW_AS(InputError, "{}:{}: {} (--strict: stopping at the first bad row)", file, line, reason);
  ++count_;
  ++by_reason_[kind];
  ++by_file_[file];
  if (count_ <= max_logged_) spdlog::warn("{}:{}: rejected: {}", file, line, reason);
  else if (count_ == max_logged_ + 1) spdlog::warn("further rejected rows are not shown; see {}", path_.empty() ? "the summary" : path_);
  if (file_) {
    std::string rec = csv_field(file) + "," + std::to_string(line) + "," + csv_field(reason) + "," + csv_field(row) + "\n";
    file_->write(rec);
  }
}

std::string RejectLog::reasons() const {
  std::string s;
  for (const auto& [reason, n] : by_reason_) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", n, reason);
  return s;
}

std::string RejectLog::summary() const {
  std::string s = fmt::format("{} row{} rejected", count_, count_ == 1 ? "" : "s");
  if (count_ > 0) s += " (" + reasons() + ")";
  if (!path_.empty() && (count_ > 0 || !only_with_rows_)) s += " -> " + path_;
  return s;
}

size_t RejectLog::rejected_in(const std::string& file) const {
  const auto it = by_file_.find(file);
  return it == by_file_.end() ? 0 : it->second;
}

void RejectLog::check_rate(const std::string& file, size_t rows) {
  rows_[file] = rows;
  check_rate(file);
}

void RejectLog::check_rate(const std::string& file) {
  const auto it = rows_.find(file);
  if (it == rows_.end() || it->second == 0) return;
  const size_t rows = it->second, rejected = std::min(rejected_in(file), rows);
  if (double(rejected) <= max_rate_ * double(rows)) return;
  finish();  // the operator's first question is "which rows, and why": keep the file
  MARQUEE_THROW_AS(InputError,
                   "{}: {} of {} rows rejected ({:.1f} %), more than --max-reject-rate {} allows ({}). "
                   "The rows and reasons are in {}. Is it the right file for this catalogue? If the rows really are "
                   "to be dropped, raise --max-reject-rate (1 = no limit)",
                   file, rejected, rows, 100.0 * double(rejected) / double(rows), max_rate_, reasons(),
                   path_.empty() ? "the log above" : path_);
}

void RejectLog::finish() {
  if (file_) {
    file_->commit_if(count_ > 0 || !only_with_rows_);
    file_.reset();
  }
}

}  // namespace marquee
