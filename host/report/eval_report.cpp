// The HTML report of `marquee eval-recs --report` (docs/quality.md): per model, HR@K and NDCG@K for
// K = 1 .. the ranking depth, catalogue coverage of the top 10 and its popularity bias, beside the
// table eval-recs prints. The numbers are the JSON result's, embedded in the page.
#include "host/report/html_page.h"
#include "host/report/report.h"

#include <fmt/format.h>

namespace marquee {
namespace {

using json = nlohmann::json;

// One colour per model, in the order eval-recs lists them, the same in every chart.
json model_colors(const json& result, bool legend) {
  json domain = json::array();
  for (const json& m : result["models"]) domain.push_back(m["model"]);
  json c{{"field", "model"}, {"type", "nominal"}, {"title", "model"}, {"scale", {{"domain", domain}, {"scheme", "tableau10"}}}};
  if (!legend) c["legend"] = nullptr;
  return c;
}

// HR@K or NDCG@K against K, one line per model.
json curve_spec(const json& result, const char* field, const std::string& metric, const std::string& what) {
  json values = json::array();
  for (const json& m : result["models"]) {
    const std::vector<double> curve = m[field].get<std::vector<double>>();
    for (size_t k = 0; k < curve.size(); ++k)
      values.push_back({{"model", m["model"]}, {"k", k + 1}, {"value", curve[k]}});
  }
  json spec = chart_spec(metric + "@K by model: " + what, 300);
  spec["data"] = {{"values", values}};
  spec["mark"] = {{"type", "line"}, {"point", {{"size", 18}}}, {"strokeWidth", 2}};
  spec["encoding"] = {
      {"x", {{"field", "k"}, {"type", "quantitative"}, {"title", "K (titles shown)"}, {"scale", {{"domainMin", 1}}}}},
      {"y", {{"field", "value"}, {"type", "quantitative"}, {"title", metric + "@K"}}},
      {"color", model_colors(result, true)},
      {"tooltip", json::array({{{"field", "model"}}, {{"field", "k"}, {"title", "K"}},
                               {{"field", "value"}, {"title", metric}, {"format", ".4f"}}})}};
  return spec;
}

json coverage_spec(const json& result) {
  json values = json::array();
  for (const json& m : result["models"]) values.push_back({{"model", m["model"]}, {"coverage", m["coverage10"]}});
  json spec = chart_spec("Coverage@10: share of the catalogue in anyone's top 10", 30 * int(values.size()));
  spec["data"] = {{"values", values}};
  spec["mark"] = "bar";
  spec["encoding"] = {{"y", {{"field", "model"}, {"type", "nominal"}, {"sort", nullptr}, {"title", nullptr}}},
                      {"color", model_colors(result, false)},
                      {"x", {{"field", "coverage"}, {"type", "quantitative"}, {"axis", {{"format", "%"}}},
                             {"scale", {{"domain", json::array({0, 1})}}}, {"title", "coverage@10"}}},
                      {"tooltip", json::array({{{"field", "model"}}, {{"field", "coverage"}, {"format", ".2%"}}})}};
  return spec;
}

json popularity_spec(const json& result) {
  json values = json::array();
  for (const json& m : result["models"])
    values.push_back({{"model", m["model"]}, {"lift", m["popularity_lift10"]}, {"recommended", m["popularity10"]},
                      {"watched", m["history_popularity"]}});
  json spec = chart_spec("Popularity bias: how popular the top 10 is, relative to what users watched (1 = as popular)",
                         30 * int(values.size()));
  spec["data"] = {{"values", values}};
  spec["layer"] = json::array(
      {{{"mark", "bar"},
        {"encoding", {{"y", {{"field", "model"}, {"type", "nominal"}, {"sort", nullptr}, {"title", nullptr}}},
                      {"color", model_colors(result, false)},
                      {"x", {{"field", "lift"}, {"type", "quantitative"}, {"title", "popularity lift@10"}}},
                      {"tooltip", json::array({{{"field", "model"}}, {{"field", "lift"}, {"format", ".2f"}},
                                               {{"field", "recommended"}, {"format", ".2%"},
                                                {"title", "mean share of users who watched a top-10 title"}},
                                               {{"field", "watched"}, {"format", ".2%"},
                                                {"title", "the same for the titles users watched"}}})}}}},
       {{"mark", {{"type", "rule"}, {"color", "#333"}, {"strokeDash", json::array({4, 3})}}},
        {"encoding", {{"x", {{"datum", 1}}}}}}});
  return spec;
}

std::string metrics_table(const json& result) {
  std::string rows;
  for (const json& m : result["models"])
    rows += "<tr><td>" + html_escape(m["model"].get<std::string>()) + "</td>" +
            fmt::format("<td>{:.4f}</td><td>{:.4f}</td><td>{:.4f}</td><td>{:.4f}</td><td>{:.2f}</td><td>{}</td></tr>\n",
                        m["hr10"].get<double>(), m["ndcg10"].get<double>(), m["recall50"].get<double>(),
                        m["coverage10"].get<double>(), m["popularity_lift10"].get<double>(), m["users"].get<size_t>());
  return "<table>\n<tr><th>model</th><th>HR@10</th><th>NDCG@10</th><th>recall@50</th><th>coverage@10</th>"
         "<th>popularity lift@10</th><th>users</th></tr>\n" +
         rows + "</table>\n";
}

}  // namespace

void write_eval_report(const std::string& path, const json& result) {
  ReportPage page("Recommendation quality: held-out next watches", result);
  const json& w = result["weights"];
  page.html("<p>" +
            html_escape(fmt::format("The {} each user started {} held out for {} of {} users; every model ranked "
                                    "the {} titles for them without the titles they had already watched. Hybrid "
                                    "weights: behaviour {}, tags {}, popularity {}.",
                                    result["holdout"].get<size_t>() == 1
                                        ? std::string("last title")
                                        : fmt::format("last {} titles", result["holdout"].get<size_t>()),
                                    result["holdout"].get<size_t>() == 1 ? "was" : "were",
                                    result["evaluated_users"].get<size_t>(),
                                    result["users"].get<size_t>(), result["titles"].get<size_t>(),
                                    w["behaviour"].get<double>(), w["tags"].get<double>(),
                                    w["popularity"].get<double>())) +
            (result.value("train_choice", std::string()).empty()
                 ? ""
                 : html_escape(" `marquee train` chose " + result["train_choice"].get<std::string>() + ".")) +
            "</p>\n");
  page.html(metrics_table(result));
  page.chart("hr", curve_spec(result, "hr_at_k", "HR", "share of users with a held-out title in their top K"));
  page.chart("ndcg", curve_spec(result, "ndcg_at_k", "NDCG", "as HR, with hits near the top counting more"));
  page.chart("coverage", coverage_spec(result));
  page.chart("popularity", popularity_spec(result));
  page.html("<p class=\"note\">Popularity of a title: the share of users who watched it in the training part. "
            "Popularity lift@10: the mean popularity of the titles in a user's top 10 over the mean popularity of "
            "the titles the user watched. Above 1 a model recommends more popular titles than its users "
            "watch (it favours hits); a model can score well on HR by recommending hits and still show users "
            "little of the catalogue (coverage).</p>\n");
  page.write(path);
}

}  // namespace marquee
