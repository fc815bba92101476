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

RejectLog::RejectLog(std::string rejects_path, bool strict, size_t max_logged)
    : path_(std::move(rejects_path)), strict_(strict), max_logged_(max_logged) {
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
  if (count_ <= max_logged_) spdlog::warn("{}:{}: rejected: {}", file, line, reason);
  else if (count_ == max_logged_ + 1) spdlog::warn("further rejected rows are not shown; see {}", path_.empty() ? "the summary" : path_);
  if (file_) {
    std::string rec = csv_field(file) + "," + std::to_string(line) + "," + csv_field(reason) + "," + csv_field(row) + "\n";
    file_->write(rec);
  }
}

std::string RejectLog::summary() const {
  std::string s = fmt::format("{} row{} rejected", count_, count_ == 1 ? "" : "s");
  if (count_ > 0) {
    s += " (";
    bool first = true;
    for (const auto& [reason, n] : by_reason_) {
      s += fmt::format("{}{} {}", first ? "" : ", ", n, reason);
      first = false;
    }
    s += ")";
  }
  if (!path_.empty()) s += " -> " + path_;
  return s;
}

void RejectLog::finish() {
  if (file_) {
    file_->commit();
    file_.reset();
  }
}

}  // namespace marquee
