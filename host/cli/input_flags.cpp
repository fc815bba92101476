#include "host/cli/input_flags.h"

#include "engine/error.h"
#include "host/io/events_io.h"
#include "host/io/record_reader.h"
#include "host/io/timestamp.h"

#include <fmt/ranges.h>

#include <algorithm>

namespace marquee::cli {

void InputFlags::add(CLI::App* app, bool events_or_profiles) {
  app->add_option("--catalog", input.catalog_dir, "catalogue directory (tags, titles, title_tags)")
      ->required()
      ->check(CLI::ExistingDirectory);
  auto* ev = app->add_option("--events", input.events_path, "playback events (.csv or .jsonl)")
                 ->check(CLI::ExistingFile);
  if (events_or_profiles) {
    auto* pr = app->add_option("--profiles", input.profiles_path, "profiles file written by `marquee profile`")
                   ->check(CLI::ExistingFile);
    ev->excludes(pr);
    pr->excludes(ev);
  } else {
    ev->required();
  }
  // Its range (finite, 0 .. 36500) is checked with every subcommand's numbers, in host/cli/guards.cpp.
  app->add_option("--half-life-days", half_life_days, "recency half-life of engagement weights in days (0 = off)");
  app->add_option("--as-of", as_of,
                  "reference time (epoch seconds or ISO-8601): events later than it plus a day are rejected, and "
                  "recency decays from it (default: the clock now; recency from the latest event)");
  app->add_option("--rejects", common.rejects_path, "rejects file (default: <out>.rejects.csv)");
  app->add_flag("--strict", common.strict, "fail on the first bad input row instead of rejecting it");
  add_reject_rate_flag(app, common);
  layout.add(app);
}

void LayoutFlags::add(CLI::App* app) {
  app->add_option("--delimiter", delimiter,
                  "field delimiter of the events file: tab|comma|semicolon|pipe, '\\t' or one character "
                  "(default: tab for .tsv files, else comma)");
  app->add_option("--catalog-delimiter", catalog_delimiter,
                  "field delimiter of the catalogue's CSV files: tab|comma|semicolon|pipe, '\\t' or one character "
                  "(default: tab for .tsv files, else comma)");
  app->add_option("--columns", columns,
                  "the events file's names for our columns: ts=timestamp,user_id=member_id,... (docs/formats.md)");
}

InputLayout LayoutFlags::finish() const {
  InputLayout layout;
  if (!delimiter.empty()) layout.events.delimiter = parse_delimiter(delimiter, "--delimiter");
  if (!columns.empty()) layout.events.columns = parse_column_map(columns);
  layout.events.suggest_columns_flag = true;
  layout.events.delimiter_flag = "--delimiter";
  if (!catalog_delimiter.empty()) layout.catalog_delimiter = parse_delimiter(catalog_delimiter, "--catalog-delimiter");
  return layout;
}

char parse_delimiter(const std::string& text, const char* flag) {
  static const std::map<std::string, char> kNamed{{"tab", '\t'},   {"\\t", '\t'},    {"\t", '\t'},
                                                  {"comma", ','},  {"semicolon", ';'}, {"pipe", '|'}};
  if (const auto it = kNamed.find(text); it != kNamed.end()) return it->second;
  const bool one_char = text.size() == 1 && text[0] > ' ' && text[0] < 0x7F;
  MARQUEE_CHECK_ARG(one_char && text[0] != '"',
                    "{} '{}' is not a delimiter: give tab (or '\\t'), comma, semicolon, pipe or one "
                    "printable character other than '\"'",
                    flag, printable(text));
  return text[0];
}

std::map<std::string, std::string> parse_column_map(const std::string& spec) {
  const std::vector<std::string>& ours = event_columns();
  const std::string expected = fmt::format("OUR=THEIRS pairs separated by commas, e.g. --columns "
                                           "ts=timestamp,user_id=member_id (our columns: {})",
                                           fmt::join(ours, ", "));
  std::map<std::string, std::string> map;
  std::map<std::string, std::string> used;  // the file's column -> ours
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string item = spec.substr(start, comma - start);
    start = comma + 1;
    const size_t eq = item.find('=');
    MARQUEE_CHECK_ARG(eq != std::string::npos && eq > 0 && eq + 1 < item.size(), "--columns: '{}' is not OUR=THEIRS; give {}",
                      printable(item), expected);
    const std::string name = item.substr(0, eq), theirs = item.substr(eq + 1);
    MARQUEE_CHECK_ARG(std::find(ours.begin(), ours.end(), name) != ours.end(),
                      "--columns: '{}' is not one of our columns ({}); the name before '=' is ours, the one after it "
                      "the file's",
                      printable(name), fmt::join(ours, ", "));
    MARQUEE_CHECK_ARG(!map.count(name), "--columns maps '{}' twice ('{}' and '{}')", name, map[name], theirs);
    MARQUEE_CHECK_ARG(!used.count(theirs), "--columns maps both '{}' and '{}' to the file's column '{}'", used[theirs],
                      name, theirs);
    map[name] = theirs;
    used[theirs] = name;
  }
  return map;
}

void add_reject_rate_flag(CLI::App* app, CommonOptions& common) {
  app->add_option("--max-reject-rate", common.max_reject_rate,
                  "fail when more than this share of a file's rows is rejected (0..1; 1 = no limit)")
      ->capture_default_str();
}

void InputFlags::finish(CLI::App* app) {
  input.engagement.half_life_days = half_life_days;
  input.layout = layout.finish();
  if (!as_of.empty()) {
    Timestamp t;
    MARQUEE_CHECK_ARG(parse_timestamp(as_of, t) && t.epoch > 0,
                      "--as-of '{}' is not a time (epoch seconds or ISO-8601, 1970..2199)", as_of);
    input.engagement.as_of = t.epoch;
  }
  if (input.events_path.empty() && input.profiles_path.empty() && app->get_option_no_throw("--profiles"))
    MARQUEE_THROW_AS(ArgumentError, "give --events FILE or --profiles FILE");
}

void add_model_flags(CLI::App* app, AlsOptions& als, HybridWeights& weights) {
  app->add_option("--factors", als.factors, "ALS factors (behaviour, hybrid)")->capture_default_str();
  app->add_option("--iterations", als.iterations, "ALS iterations")->capture_default_str();
  app->add_option("--regularization", als.regularization, "ALS regularization")->capture_default_str();
  app->add_option("--alpha", als.alpha, "ALS confidence scaling")->capture_default_str();
  app->add_option("--hybrid-tags", weights.tags, "hybrid: weight of the tag cosine")->capture_default_str();
  app->add_option("--hybrid-popularity", weights.popularity, "hybrid: weight of popularity")->capture_default_str();
}

std::string title_label(const Catalog& c, uint32_t t) {
  const Title& title = c.title(t);
  return title.name.empty() ? title.id : title.name + " (" + title.id + ")";
}

}  // namespace marquee::cli
