// The HTML report of `marquee project --report` (docs/projection.md): the projected audience with
// its two intervals told apart by a legend and a note, then per title its comparable titles, fan
// cohorts, segments (named by their top tags), every planned trailer and the daypart.
#include "host/report/html_page.h"
#include "host/report/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace marquee {
namespace {

using json = nlohmann::json;

// A title as people know it: its name (the new-titles file's or the catalogue's), else its id.
std::string title_label(const json& t) {
  const std::string name = t.value("name", std::string());
  return name.empty() ? t["title_id"].get<std::string>() : name;
}

// Labels for the audience chart's rows: names, with the id added where two titles share one.
std::vector<std::string> title_labels(const json& titles) {
  std::map<std::string, int> uses;
  for (const json& t : titles) ++uses[title_label(t)];
  std::vector<std::string> out;
  for (const json& t : titles) {
    const std::string l = title_label(t);
    out.push_back(uses[l] > 1 ? l + " (" + t["title_id"].get<std::string>() + ")" : l);
  }
  return out;
}

// A segment as people can read it: its number and the tags its users over-represent.
std::string segment_label(const json& s) {
  std::string tags;
  size_t n = 0;
  for (const json& t : s.value("top_tags", json::array()))
    if (n++ < 3) tags += (tags.empty() ? "" : ", ") + t["tag"].get<std::string>();
  return fmt::format("segment {}: {}", s["segment"].get<int>(), tags.empty() ? "no tag over-represented" : tags);
}

// The two intervals measure different things, so each gets a legend entry (colour by a constant
// datum) and the note under the chart says which is which.
constexpr const char* kProjected = "projected audience";
constexpr const char* kTitleLevel = "80 % title-level interval (how far real audiences strayed)";
constexpr const char* kPoisson = "95 % Poisson-binomial interval (chance alone)";
constexpr const char* kActual = "actual viewers (held out)";

json audience_spec(const json& result) {
  json values = json::array();
  bool any_actual = false;
  const std::vector<std::string> labels = title_labels(result["titles"]);
  size_t i = 0;
  for (const json& t : result["titles"]) {
    const json& a = t["audience"];
    json v{{"title", labels[i++]}, {"expected", a["expected"]}, {"lo95", a["lo95"]}, {"hi95", a["hi95"]},
           {"lo80", a["lo80"]}, {"hi80", a["hi80"]}};
    if (t.contains("actual_viewers")) {
      v["actual"] = t["actual_viewers"];
      any_actual = true;
    }
    values.push_back(v);
  }
  json spec = chart_spec("Projected audience and its two intervals", 50 + 46 * int(values.size()));
  spec["data"] = {{"values", values}};
  json domain = json::array({kProjected, kTitleLevel, kPoisson});
  json range = json::array({"#4c78a8", "#f58518", "#222222"});
  if (any_actual) domain.push_back(kActual), range.push_back("#e45756");
  const json y = {{"field", "title"}, {"type", "nominal"}, {"title", nullptr}, {"axis", {{"labelLimit", 320}}}};
  auto color = [&](const char* what) {
    return json{{"datum", what},
                {"type", "nominal"},
                {"scale", {{"domain", domain}, {"range", range}}},
                {"legend", {{"title", nullptr}, {"orient", "bottom"}, {"direction", "vertical"}, {"labelLimit", 600}}}};
  };
  json layers = json::array(
      {{{"mark", {{"type", "bar"}, {"opacity", 0.55}, {"height", {{"band", 0.7}}}}},
        {"encoding", {{"y", y},
                      {"x", {{"field", "expected"}, {"type", "quantitative"}, {"title", "viewers"}}},
                      {"color", color(kProjected)},
                      {"tooltip", json::array({{{"field", "title"}}, {{"field", "expected"}, {"format", ",.0f"}}})}}}},
       {{"mark", {{"type", "rule"}, {"strokeWidth", 12}, {"opacity", 0.6}}},
        {"encoding", {{"y", y}, {"x", {{"field", "lo80"}, {"type", "quantitative"}}}, {"x2", {{"field", "hi80"}}},
                      {"color", color(kTitleLevel)},
                      {"tooltip", json::array({{{"field", "lo80"}, {"format", ",.0f"}, {"title", "80 % from"}},
                                               {{"field", "hi80"}, {"format", ",.0f"}, {"title", "80 % to"}}})}}}},
       {{"mark", {{"type", "rule"}, {"strokeWidth", 3}}},
        {"encoding", {{"y", y}, {"x", {{"field", "lo95"}, {"type", "quantitative"}}}, {"x2", {{"field", "hi95"}}},
                      {"color", color(kPoisson)},
                      {"tooltip", json::array({{{"field", "lo95"}, {"format", ",.0f"}, {"title", "95 % from"}},
                                               {{"field", "hi95"}, {"format", ",.0f"}, {"title", "95 % to"}}})}}}}});
  if (any_actual)
    layers.push_back({{"mark", {{"type", "point"}, {"shape", "diamond"}, {"size", 160}, {"filled", true}}},
                      {"encoding", {{"y", y}, {"x", {{"field", "actual"}, {"type", "quantitative"}}},
                                    {"color", color(kActual)},
                                    {"tooltip", json::array({{{"field", "actual"}, {"title", kActual}}})}}}});
  spec["layer"] = layers;
  return spec;
}

constexpr const char* kIntervalNote =
    "The two intervals measure different things, which is why the 80 % one is the wider. The 95 % "
    "Poisson-binomial interval is the spread from chance alone if every user's probability is right; it "
    "narrows as the user base grows. The 80 % title-level interval is how far the real audiences of the "
    "calibration titles fell from their projections (a title's own pull, marketing and timing, which tags "
    "cannot know): plan with this one.";

json cohorts_spec(const json& t) {
  json values = json::array();
  for (const json& c : t["cohorts"])
    values.push_back({{"cohort", "fans of " + c["name"].get<std::string>()}, {"lift", c["lift"]}, {"fans", c["fans"]},
                      {"expected", c["expected_fans"]}});
  json spec = chart_spec("Fan cohorts: lift in the projected audience (share of audience / share of users)",
                         24 * int(values.size()));
  spec["data"] = {{"values", values}};
  spec["layer"] = json::array(
      {{{"mark", {{"type", "bar"}, {"color", "#54a24b"}}},
        {"encoding", {{"y", {{"field", "cohort"}, {"type", "nominal"}, {"sort", "-x"}, {"title", nullptr},
                             {"axis", {{"labelLimit", 320}}}}},
                      {"x", {{"field", "lift"}, {"type", "quantitative"}, {"title", "lift (1 = as in all users)"}}},
                      {"tooltip", json::array({{{"field", "cohort"}}, {{"field", "lift"}, {"format", ".2f"}},
                                               {{"field", "fans"}}, {{"field", "expected"}, {"format", ",.1f"}}})}}}},
       {{"mark", {{"type", "rule"}, {"color", "#555"}, {"strokeDash", json::array({4, 3})}}},
        {"encoding", {{"x", {{"datum", 1}}}}}}});
  return spec;
}

json segments_spec(const json& t) {
  json values = json::array();
  for (const json& s : t["segments"]) {
    const std::string name = segment_label(s);
    values.push_back({{"segment", name}, {"order", s["segment"]}, {"share", s["user_share"]}, {"of", "share of users"},
                      {"lift", s["lift"]}, {"users", s["users"]}});
    values.push_back({{"segment", name}, {"order", s["segment"]}, {"share", s["audience_share"]},
                      {"of", "share of the projected audience"}, {"lift", s["lift"]}, {"users", s["users"]}});
  }
  json spec = chart_spec("Segments (named by their most over-represented tags): users vs projected audience",
                         40 * int(t["segments"].size()));
  spec["data"] = {{"values", values}};
  spec["mark"] = "bar";
  spec["encoding"] = {
      {"y", {{"field", "segment"}, {"type", "nominal"}, {"sort", {{"field", "order"}}}, {"title", nullptr},
             {"axis", {{"labelLimit", 420}}}}},
      {"yOffset", {{"field", "of"}, {"sort", json::array({"share of users", "share of the projected audience"})}}},
      {"x", {{"field", "share"}, {"type", "quantitative"}, {"axis", {{"format", "%"}}}, {"title", nullptr}}},
      {"color", {{"field", "of"}, {"type", "nominal"}, {"title", nullptr}, {"legend", {{"orient", "bottom"}}},
                 {"scale", {{"domain", json::array({"share of users", "share of the projected audience"})},
                            {"range", json::array({"#9eb9d4", "#4c78a8"})}}}}},
      {"tooltip", json::array({{{"field", "segment"}}, {{"field", "users"}}, {{"field", "of"}},
                               {{"field", "share"}, {"format", ".1%"}}, {{"field", "lift"}, {"format", ".2f"}}})}};
  return spec;
}

// Every planned trailer (or, without --trailers, every segment) gets a row, also one whose segment
// over-weights none of the title's tags (a note in place of a bar). A row's bar stacks the tags to
// emphasise, best first, each coloured by tag (with a legend) and named inside when there is room.
json trailers_spec(const json& t) {
  const bool planned = t.contains("trailers");
  const json& plan = planned ? t["trailers"] : t["segments"];
  json values = json::array(), rows = json::array(), notes = json::array();
  for (const json& s : plan) {
    const std::string row = (planned ? fmt::format("{}. ", s["rank"].get<size_t>()) : std::string()) +
                            fmt::format("{} ({} users)", segment_label(s), s["users"].get<size_t>());
    rows.push_back(row);
    int order = 0;
    for (const json& e : s["emphasis"])
      values.push_back({{"trailer", row}, {"tag", e["tag"]}, {"score", e["score"]}, {"order", order++}, {"lift", s["lift"]}});
    if (s["emphasis"].empty()) notes.push_back({{"trailer", row}, {"note", "no tag of the title over-weighted"}});
  }
  json spec = chart_spec(planned ? fmt::format("Trailer plan: the title's tags each of the {} cuts should emphasise",
                                               rows.size())
                                 : std::string("The title's tags each segment over-weights"),
                         std::max(60, 44 * int(rows.size())));
  const json y = {{"field", "trailer"}, {"type", "nominal"}, {"title", nullptr},
                  {"scale", {{"domain", rows}}}, {"axis", {{"labelLimit", 480}}}};
  const json x = {{"field", "x0"}, {"type", "quantitative"}, {"title", "emphasis (tag weight x how much more the segment watches it)"}};
  const json stacked = {{"values", values}};
  const json transform = json::array(
      {{{"stack", "score"}, {"groupby", json::array({"trailer"})}, {"sort", json::array({{{"field", "order"}}})},
        {"as", json::array({"x0", "x1"})}},
       {{"joinaggregate", json::array({{{"op", "max"}, {"field", "x1"}, {"as", "longest"}}})}},
       {{"calculate", "(datum.x0 + datum.x1) / 2"}, {"as", "mid"}},
       {{"calculate", "(datum.x1 - datum.x0) / datum.longest > 0.13 ? datum.tag : ''"}, {"as", "label"}}});
  json layers = json::array(
      {{{"data", stacked},
        {"transform", transform},
        {"mark", {{"type", "bar"}, {"stroke", "white"}, {"strokeWidth", 1}, {"height", {{"band", 0.75}}}}},
        {"encoding", {{"y", y},
                      {"x", x},
                      {"x2", {{"field", "x1"}}},
                      {"color", {{"field", "tag"}, {"type", "nominal"}, {"title", "tag to emphasise"},
                                 {"scale", {{"scheme", "tableau20"}}},
                                 {"legend", {{"orient", "bottom"}, {"columns", 5}, {"labelLimit", 240}}}}},
                      {"tooltip", json::array({{{"field", "trailer"}}, {{"field", "tag"}},
                                               {{"field", "score"}, {"format", ".4f"}},
                                               {{"field", "lift"}, {"format", ".2f"}}})}}}},
       {{"data", stacked},
        {"transform", transform},
        {"mark", {{"type", "text"}, {"fontSize", 10}, {"color", "#111"}}},
        {"encoding", {{"y", y}, {"x", {{"field", "mid"}, {"type", "quantitative"}}}, {"text", {{"field", "label"}}}}}}});
  if (!notes.empty())
    layers.push_back({{"data", {{"values", notes}}},
                      {"mark", {{"type", "text"}, {"align", "left"}, {"dx", 4}, {"color", "#777"}, {"fontStyle", "italic"}}},
                      {"encoding", {{"y", y}, {"x", {{"datum", 0}, {"type", "quantitative"}}}, {"text", {{"field", "note"}}}}}});
  spec["layer"] = layers;
  return spec;
}

json daypart_spec(const json& t) {
  json values = json::array();
  const std::vector<double> dp = t["daypart"].get<std::vector<double>>();
  for (size_t h = 0; h < dp.size(); ++h) values.push_back({{"hour", h}, {"viewers", dp[h]}});
  json spec = chart_spec("Daypart: expected viewing sessions by local hour", 200);
  spec["data"] = {{"values", values}};
  spec["mark"] = {{"type", "bar"}, {"color", "#b279a2"}};
  spec["encoding"] = {{"x", {{"field", "hour"}, {"type", "ordinal"}, {"title", "local hour"}}},
                      {"y", {{"field", "viewers"}, {"type", "quantitative"}, {"title", "expected viewers"}}},
                      {"tooltip", json::array({{{"field", "hour"}}, {{"field", "viewers"}, {"format", ",.0f"}}})}};
  return spec;
}

void title_section(ReportPage& page, const json& t, size_t i) {
  const json& a = t["audience"];
  const std::string id = t["title_id"].get<std::string>();
  const std::string label = title_label(t);
  page.html("<section><h2>" + html_escape(label) + (label == id ? "" : " <small>" + html_escape(id) + "</small>") +
            "</h2>\n<p>" +
            html_escape(fmt::format("Projected audience {:.0f} of {} users; 80 % title-level interval {:.0f}–{:.0f}; "
                                    "95 % Poisson-binomial interval {:.0f}–{:.0f}.",
                                    a["expected"].get<double>(), a["users"].get<size_t>(), a["lo80"].get<double>(),
                                    a["hi80"].get<double>(), a["lo95"].get<double>(), a["hi95"].get<double>())) +
            (t.contains("actual_viewers")
                 ? html_escape(fmt::format(" Held out: {} actual viewers.", t["actual_viewers"].get<size_t>()))
                 : "") +
            "</p>\n");
  std::string comps;
  for (const json& c : t["comparables"])
    comps += "<li>" + html_escape(fmt::format("{} ({}) — similarity {:.2f}, {} viewers", c["name"].get<std::string>(),
                                              c["title_id"].get<std::string>(), c["similarity"].get<double>(),
                                              c["viewers"].get<size_t>())) +
             "</li>";
  if (!comps.empty()) page.html("<h3>Comparable titles</h3><ul>" + comps + "</ul>\n");
  const std::string n = std::to_string(i);
  if (!t["cohorts"].empty()) page.chart("cohorts-" + n, cohorts_spec(t));
  if (!t["segments"].empty()) {
    page.chart("segments-" + n, segments_spec(t));
    page.chart("trailers-" + n, trailers_spec(t));
  }
  page.chart("daypart-" + n, daypart_spec(t));
  page.html("</section>\n");
}

}  // namespace

void write_projection_report(const std::string& path, const json& result) {
  ReportPage page("Audience projection", result);
  page.html("<p>" +
            html_escape(fmt::format("{} users; space {}; calibration: {} titles x {} users; backend {}.",
                                    result["users"].get<size_t>(), result["space"].get<std::string>(),
                                    result["calibration"]["titles"].get<size_t>(),
                                    result["calibration"]["users"].get<size_t>(), result["backend"].get<std::string>())) +
            "</p>\n");
  page.chart("audience", audience_spec(result));
  page.html(std::string("<p class=\"note\">") + html_escape(kIntervalNote) + "</p>\n");
  size_t i = 0;
  for (const json& t : result["titles"]) title_section(page, t, i++);
  page.write(path);
}

}  // namespace marquee
