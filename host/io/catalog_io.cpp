#include "host/io/catalog_io.h"

#include "engine/error.h"
#include "host/io/record_reader.h"

#include <spdlog/spdlog.h>

#include <filesystem>

namespace marquee {

std::string find_table(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  MARQUEE_CHECK_INPUT(fs::is_directory(dir), "catalogue directory {} does not exist", dir);
  for (const char* ext : {".csv", ".tsv", ".jsonl", ".ndjson"})
    for (const char* compressed : {"", ".gz", ".zst"}) {
      const fs::path p = fs::path(dir) / (name + ext + compressed);
      if (fs::exists(p)) return p.string();
    }
  MARQUEE_THROW_AS(InputError, "catalogue directory {} has no {}.csv (or {}.tsv, {}.jsonl; each may end in .gz or .zst)",
                   dir, name, name, name, name);
}

std::optional<std::pair<uint32_t, float>> parse_tag_weight(const Catalog& catalog, const Record& r, size_t tag_field,
                                                          size_t weight_field, const std::string& path,
                                                          RejectLog& rejects, const char* unknown_tag_note) {
  const auto tag = catalog.find_tag(r.fields[tag_field]);
  if (!tag) {
    rejects.reject(path, r.line, "unknown tag '" + r.fields[tag_field] + "' " + unknown_tag_note, r.raw);
    return std::nullopt;
  }
  double w = 0;
  if (!parse_double(r.fields[weight_field], w) || w <= 0 || w > 1) {
    rejects.reject(path, r.line, "weight must be in (0, 1]; got '" + r.fields[weight_field] + "'", r.raw);
    return std::nullopt;
  }
  // Weights are stored as 32-bit floats; one that would round to 0 (or lose all precision) must not
  // pass as a tag that is there but weighs nothing.
  if (w < kMinTagWeight) {
    rejects.reject(path, r.line,
                   fmt::format("weight too small '{}': below {:g} (the smallest kept; leave the row out instead)",
                               r.fields[weight_field], kMinTagWeight),
                   r.raw);
    return std::nullopt;
  }
  return std::make_pair(*tag, float(w));
}

namespace {

void warn_ignored(const RecordReader& reader) {
  for (const auto& c : reader.ignored_columns()) spdlog::info("{}: ignoring column '{}'", reader.path(), c);
}

size_t load_tags(const std::string& path, Catalog& catalog, RejectLog& rejects, const TableLayout& layout) {
  RecordReader reader(path, {"tag", "category"}, {}, layout);
  warn_ignored(reader);
  Record r;
  while (reader.next(r)) {
    if (!r.error.empty()) {
      rejects.reject(path, r.line, r.error, r.raw);
      continue;
    }
    if (!catalog.add_tag(Tag{r.fields[0], r.fields[1]}))
      rejects.reject(path, r.line, "duplicate tag '" + r.fields[0] + "'", r.raw);
  }
  return reader.rows();
}

size_t load_titles(const std::string& path, Catalog& catalog, RejectLog& rejects, const TableLayout& layout) {
  RecordReader reader(path, {"title_id", "duration_s"}, {"name", "release_year"}, layout);
  warn_ignored(reader);
  Record r;
  while (reader.next(r)) {
    if (!r.error.empty()) {
      rejects.reject(path, r.line, r.error, r.raw);
      continue;
    }
    Title t;
    t.id = r.fields[0];
    t.name = r.fields[2];
    if (!parse_double(r.fields[1], t.duration_s) || t.duration_s <= 0) {
      rejects.reject(path, r.line, "duration_s must be a number > 0; got '" + r.fields[1] + "'", r.raw);
      continue;
    }
    if (r.present[3]) {
      long long year = 0;
      if (!parse_int(r.fields[3], year) || year < 1850 || year > 2200) {
        rejects.reject(path, r.line, "release_year must be a year between 1850 and 2200; got '" + r.fields[3] + "'",
                       r.raw);
        continue;
      }
      t.release_year = int(year);
    }
    if (!catalog.add_title(std::move(t))) rejects.reject(path, r.line, "duplicate title_id '" + r.fields[0] + "'", r.raw);
  }
  return reader.rows();
}

size_t load_title_tags(const std::string& path, Catalog& catalog, RejectLog& rejects, const TableLayout& layout) {
  RecordReader reader(path, {"title_id", "tag", "weight"}, {}, layout);
  warn_ignored(reader);
  Record r;
  while (reader.next(r)) {
    if (!r.error.empty()) {
      rejects.reject(path, r.line, r.error, r.raw);
      continue;
    }
    const auto title = catalog.find_title(r.fields[0]);
    if (!title) {
      rejects.reject(path, r.line, "unknown title_id '" + r.fields[0] + "'", r.raw);
      continue;
    }
    const auto tw = parse_tag_weight(catalog, r, 1, 2, path, rejects);
    if (!tw) continue;
    if (!catalog.add_assignment({*title, tw->first, tw->second}))
      rejects.reject(path, r.line, "duplicate tag '" + r.fields[1] + "' for title '" + r.fields[0] + "'", r.raw);
  }
  return reader.rows();
}

}  // namespace

Catalog load_catalog(const std::string& dir, RejectLog& rejects, char delimiter) {
  TableLayout layout;
  layout.delimiter = delimiter;
  layout.delimiter_flag = "--catalog-delimiter";
  Catalog catalog;
  const std::string tags = find_table(dir, "tags");
  const std::string titles = find_table(dir, "titles");
  const std::string title_tags = find_table(dir, "title_tags");
  // Each file's reject rate is checked after the errors that say more ("no usable tags").
  const size_t tag_rows = load_tags(tags, catalog, rejects, layout);
  MARQUEE_CHECK_INPUT(catalog.num_tags() > 0, "{} has no usable tags: a catalogue needs a tag taxonomy", tags);
  rejects.check_rate(tags, tag_rows);
  const size_t title_rows = load_titles(titles, catalog, rejects, layout);
  MARQUEE_CHECK_INPUT(catalog.num_titles() > 0, "{} has no usable titles", titles);
  rejects.check_rate(titles, title_rows);
  const size_t assignment_rows = load_title_tags(title_tags, catalog, rejects, layout);
  MARQUEE_CHECK_INPUT(!catalog.assignments().empty(), "{} has no usable tag assignments", title_tags);
  rejects.check_rate(title_tags, assignment_rows);
  spdlog::info("catalogue {}: {} titles, {} tags, {} tag assignments", dir, catalog.num_titles(), catalog.num_tags(),
               catalog.assignments().size());
  return catalog;
}

}  // namespace marquee
