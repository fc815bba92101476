// The HTML reports (host/report/): `eval-recs --report` holds every model's numbers exactly as
// eval-recs prints and writes them; `project --report` names titles and segments, plans every
// trailer, tells its two intervals apart and draws full-width charts. Also the readable summaries
// of `project` and `segment` (issue #19, item 10). The same pages are drawn in headless Chromium by
// scripts/check_reports.sh (ctest: report_browser_check, skipped without Chromium).
#include "test_util.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>

using namespace marquee::test;
using json = nlohmann::json;

namespace {

// The job's result the page embeds (<script type="application/json" id="marquee-data">).
json embedded_data(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"marquee-data\">\n";
  const size_t a = html.find(open);
  if (a == std::string::npos) return nullptr;
  const size_t b = html.find("\n</script>", a);
  std::string text = html.substr(a + open.size(), b - a - open.size());
  for (size_t p = 0; (p = text.find("<\\/", p)) != std::string::npos;) text.replace(p, 3, "</");
  return json::parse(text);
}

// The Vega-Lite spec of chart `id` (the page's `draw("id", {...});` line), or null.
json chart_spec(const std::string& html, const std::string& id) {
  const std::string open = "draw(\"" + id + "\", ";
  const size_t a = html.find(open);
  if (a == std::string::npos) return nullptr;
  const size_t b = html.find(");\n", a);
  return json::parse(html.substr(a + open.size(), b - a - open.size()));
}

std::vector<std::string> chart_ids(const std::string& html) {
  std::vector<std::string> ids;
  const std::regex re("draw\\(\"(chart-[^\"]+)\", \\{");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), re); it != std::sregex_iterator(); ++it)
    ids.push_back((*it)[1]);
  return ids;
}

void expect_self_contained_full_width(const std::string& html) {
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<script data-lib=\"vega-embed\">"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos) << "no network fetches";
  EXPECT_EQ(html.find("max-width:1000px"), std::string::npos);
  const auto ids = chart_ids(html);
  ASSERT_FALSE(ids.empty());
  for (const auto& id : ids) {
    const json spec = chart_spec(html, id);
    EXPECT_EQ(spec["width"], "container") << id << ": charts take the page's width";
    EXPECT_NE(html.find("<div class=\"chart\" id=\"" + id + "\"></div>"), std::string::npos) << id;
  }
}

// The text of a color legend's entries: the datum or field values a chart colours by.
std::vector<std::string> legend_domain(const json& spec) {
  for (const json& layer : spec["layer"])
    if (layer["encoding"].contains("color")) return layer["encoding"]["color"]["scale"]["domain"].get<std::vector<std::string>>();
  return {};
}

}  // namespace

class ReportCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const auto g = run_marquee("gen --users 600 --titles 120 --tags 40 --seed 5 --mean-titles 15 --out " + dir() + "/data");
    ASSERT_EQ(g.exit_code, 0) << g.out;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string dir() { return dir_->path(); }
  static std::string catalog() { return dir() + "/data/catalog"; }
  static std::string events() { return dir() + "/data/events.csv"; }
  static inline TempDir* dir_ = nullptr;
};

TEST_F(ReportCli, EvalRecsReportHoldsEveryModelsNumbers) {
  const auto r = run_marquee("eval-recs --catalog " + catalog() + " --events " + events() +
                             " --time-budget 0 --out " + dir() + "/e.json --report " + dir() + "/e.html");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json out = json::parse(read_text(dir() + "/e.json"));
  const std::string html = read_text(dir() + "/e.html");
  expect_self_contained_full_width(html);
  EXPECT_EQ(embedded_data(html), out) << "the page embeds what --out writes";
  EXPECT_EQ(chart_ids(html), (std::vector<std::string>{"chart-hr", "chart-ndcg", "chart-coverage", "chart-popularity"}));

  const json hr = chart_spec(html, "chart-hr"), ndcg = chart_spec(html, "chart-ndcg");
  ASSERT_GE(out["models"].size(), 6u);  // popularity, tags, cowatch, behaviour, hybrid, ease
  for (const json& m : out["models"]) {
    const std::string name = m["model"];
    // The table eval-recs prints, the report's table and the JSON agree.
    const std::string printed = fmt::format("{:<18} {:>8.4f} {:>8.4f} {:>10.4f} {:>12.4f} {:>9.2f}", name,
                                            m["hr10"].get<double>(), m["ndcg10"].get<double>(),
                                            m["recall50"].get<double>(), m["coverage10"].get<double>(),
                                            m["popularity_lift10"].get<double>());
    EXPECT_NE(r.out.find(printed + "\n"), std::string::npos) << printed << "\n" << r.out;
    EXPECT_NE(html.find(fmt::format("<tr><td>{}</td><td>{:.4f}</td><td>{:.4f}</td>", name, m["hr10"].get<double>(),
                                    m["ndcg10"].get<double>())),
              std::string::npos)
        << name;
    // Curves K = 1..50 (120 titles), consistent with the @10 numbers, and drawn point for point.
    const auto hr_k = m["hr_at_k"].get<std::vector<double>>(), ndcg_k = m["ndcg_at_k"].get<std::vector<double>>();
    ASSERT_EQ(hr_k.size(), 50u) << name;
    ASSERT_EQ(ndcg_k.size(), 50u) << name;
    EXPECT_DOUBLE_EQ(hr_k[9], m["hr10"].get<double>()) << name;
    EXPECT_NEAR(ndcg_k[9], m["ndcg10"].get<double>(), 1e-12) << name;
    for (size_t k = 1; k < 50; ++k) EXPECT_GE(hr_k[k], hr_k[k - 1]) << name << " HR@K never falls as K grows";
    std::vector<double> drawn_hr, drawn_ndcg;
    for (const json& v : hr["data"]["values"])
      if (v["model"] == name) drawn_hr.push_back(v["value"]);
    for (const json& v : ndcg["data"]["values"])
      if (v["model"] == name) drawn_ndcg.push_back(v["value"]);
    EXPECT_EQ(drawn_hr, hr_k) << name;
    EXPECT_EQ(drawn_ndcg, ndcg_k) << name;
    EXPECT_GT(m["history_popularity"].get<double>(), 0) << name;
    EXPECT_NEAR(m["popularity_lift10"].get<double>(),
                m["popularity10"].get<double>() / m["history_popularity"].get<double>(), 1e-12)
        << name;
  }
  // Popularity recommends the most watched titles: the largest lift of all, above 1.
  double popularity_lift = 0, others = 0;
  for (const json& m : out["models"])
    (m["model"] == "popularity" ? popularity_lift : others) = std::max(
        m["model"] == "popularity" ? popularity_lift : others, m["popularity_lift10"].get<double>());
  EXPECT_GT(popularity_lift, 1.0);
  EXPECT_GE(popularity_lift, others);

  // Without the JavaScript: refused before any work, naming what to install; nothing written.
  const auto nojs = run_command("MARQUEE_REPORT_JS_DIR=" + dir() + "/nowhere " + kBin + " eval-recs --catalog " +
                                catalog() + " --events " + events() + " --time-budget 0 --out " + dir() +
                                "/e2.json --report " + dir() + "/e2.html");
  EXPECT_EQ(nojs.exit_code, 3) << nojs.out;
  EXPECT_NE(nojs.out.find("npm ci --prefix host/report/js"), std::string::npos) << nojs.out;
  EXPECT_FALSE(std::filesystem::exists(dir() + "/e2.json"));
  EXPECT_FALSE(std::filesystem::exists(dir() + "/e2.html"));
}

TEST_F(ReportCli, ProjectionReportNamesTitlesAndSegmentsAndPlansEveryTrailer) {
  std::vector<std::string> tags;
  const auto rows = lines(read_text(catalog() + "/tags.csv"));
  for (size_t i = 1; i < rows.size() && tags.size() < 4; ++i) tags.push_back(split(rows[i], ',')[0]);
  write_text(dir() + "/new.csv", "title_id,tag,weight,name\nnew1," + tags[0] + ",1,Weeds Two\nnew1," + tags[3] +
                                     ",0.5,\nnew2," + tags[1] + ",0.8,\n");
  const auto r = run_marquee("project --catalog " + catalog() + " --events " + events() + " --space tags" +
                             " --new-titles " + dir() + "/new.csv --trailers 4 --backend cpu --out " + dir() +
                             "/p.json --report " + dir() + "/p.html");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json out = json::parse(read_text(dir() + "/p.json"));
  const std::string html = read_text(dir() + "/p.html");
  expect_self_contained_full_width(html);
  EXPECT_EQ(embedded_data(html), out);

  // Titles go by their names (the new-titles file's), ids beside them; a title without one by its id.
  EXPECT_NE(html.find("<h2>Weeds Two <small>new1</small></h2>"), std::string::npos);
  EXPECT_NE(html.find("<h2>new2</h2>"), std::string::npos);
  const json audience = chart_spec(html, "chart-audience");
  std::vector<std::string> rows_drawn;
  for (const json& v : audience["data"]["values"]) rows_drawn.push_back(v["title"]);
  EXPECT_EQ(rows_drawn, (std::vector<std::string>{"Weeds Two", "new2"}));
  // Both intervals are in the legend, named for what they measure, and the note explains them.
  const auto legend = legend_domain(audience);
  ASSERT_EQ(legend.size(), 3u);  // projected audience, 80 % title-level, 95 % Poisson-binomial
  EXPECT_NE(legend[1].find("80 % title-level"), std::string::npos);
  EXPECT_NE(legend[2].find("95 % Poisson-binomial"), std::string::npos);
  for (const json& layer : audience["layer"]) EXPECT_FALSE(layer["encoding"]["color"]["legend"].is_null());
  EXPECT_NE(html.find("The two intervals measure different things"), std::string::npos);

  for (size_t i = 0; i < 2; ++i) {
    const json& t = out["titles"][i];
    // Segments are named by their top tags.
    const json segments = chart_spec(html, "chart-segments-" + std::to_string(i));
    std::set<std::string> labels;
    for (const json& v : segments["data"]["values"]) labels.insert(v["segment"].get<std::string>());
    ASSERT_EQ(t["segments"].size(), 4u);
    for (const json& s : t["segments"]) {
      ASSERT_FALSE(s["top_tags"].empty()) << s.dump();
      std::string label = fmt::format("segment {}: ", s["segment"].get<int>());
      for (size_t k = 0; k < std::min<size_t>(3, s["top_tags"].size()); ++k)
        label += (k ? ", " : "") + s["top_tags"][k]["tag"].get<std::string>();
      EXPECT_TRUE(labels.count(label)) << label;
    }
    // Every planned trailer has its row, in rank order, with or without tags to emphasise.
    const json trailers = chart_spec(html, "chart-trailers-" + std::to_string(i));
    const json domain = trailers["layer"][0]["encoding"]["y"]["scale"]["domain"];
    ASSERT_EQ(t["trailers"].size(), 4u);
    ASSERT_EQ(domain.size(), 4u);
    size_t bars = 0, notes = 0;
    for (size_t k = 0; k < 4; ++k) {
      const json& plan = t["trailers"][k];
      EXPECT_EQ(domain[k].get<std::string>().rfind(fmt::format("{}. segment {}: ", k + 1, plan["segment"].get<int>()), 0), 0u)
          << domain[k];
      bars += plan["emphasis"].size();
      notes += plan["emphasis"].empty();
    }
    EXPECT_EQ(trailers["layer"][0]["data"]["values"].size(), bars);
    EXPECT_EQ(trailers["layer"].size(), notes ? 3u : 2u);  // bars, their tag names[, the notes]
    if (notes) {
      EXPECT_EQ(trailers["layer"][2]["data"]["values"].size(), notes);
    }
    EXPECT_EQ(trailers["layer"][0]["encoding"]["color"]["title"], "tag to emphasise");
    EXPECT_FALSE(trailers["layer"][0]["encoding"]["color"]["legend"].is_null());
  }
}

// Issue #19, item 10: "27 fans, 0 expected viewers" for 0.15: counts under 10 keep one decimal.
TEST_F(ReportCli, ProjectPrintsSmallExpectedCountsWithADecimal) {
  const auto r = run_marquee("project --catalog " + catalog() + " --events " + events() +
                             " --title t000007 --as-new --trailers 3 --min-fans 5 --backend cpu --out " + dir() +
                             "/a.json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json t = json::parse(read_text(dir() + "/a.json"))["titles"][0];
  auto expected_count = [](double x) { return x >= 10 ? fmt::format("{:.0f}", x) : fmt::format("{:.1f}", x); };
  size_t small = 0;
  for (const json& c : t["cohorts"]) {
    const double x = c["expected_fans"].get<double>();
    small += x < 10;
    EXPECT_NE(r.out.find(fmt::format("({} fans, {} expected viewers)", c["fans"].get<size_t>(), expected_count(x))),
              std::string::npos)
        << x << "\n" << r.out;
  }
  for (const json& s : t["segments"])
    EXPECT_NE(r.out.find(fmt::format("segment {}: {} users, {} expected viewers", s["segment"].get<int>(),
                                     s["users"].get<size_t>(), expected_count(s["expected"].get<double>()))),
              std::string::npos)
        << r.out;
  EXPECT_GT(small, 0u) << "the case under test: a cohort expected to bring fewer than 10 viewers\n" << r.out;
  EXPECT_FALSE(std::regex_search(r.out, std::regex(R"(fans, 0 expected viewers)"))) << r.out;
}

// Issue #19, item 10: `segment` said "titles: ;" for a segment without titles over its threshold
// (3 viewers): two users a segment, each title watched by one.
TEST(ReportReadable, SegmentSaysNoneForAnEmptyTitleList) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  std::string ev = "ts,user_id,title_id,event,position_s,seek_to_s\n";
  const char* watched[][2] = {{"a", "c"}, {"c", "e"}, {"b", "d"}, {"d", "b"}};
  for (int u = 0; u < 4; ++u)
    for (int i = 0; i < 2; ++i)
      ev += fmt::format("2026-01-0{}T20:00:00Z,u{},{},play,0,\n2026-01-0{}T21:00:00Z,u{},{},complete,1800,\n", i + 1, u,
                        watched[u][i], i + 1, u, watched[u][i]);
  write_text(dir / "events.csv", ev);
  const auto r = run_marquee("segment --catalog " + dir / "cat" + " --events " + dir / "events.csv" + " --k 2 --out " +
                             dir / "seg.csv");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("titles: (none);"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("titles: ;"), std::string::npos) << r.out;
}
