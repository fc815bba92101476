#include "host/io/daypart_file.h"

#include "engine/error.h"
#include "host/io/atomic_file.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdint>
#include <fstream>

namespace marquee {

using json = nlohmann::json;

namespace {

constexpr const char* kFormat = "marquee-daypart-1";
constexpr double kMaxDaypartWeight = 1e6;  // score units; fitted weights are at most 50 x the score spread

}  // namespace

void write_daypart_model(const std::string& path, const DaypartModel& m, const Catalog& catalog,
                         const DaypartFitReport* report) {
  json j{{"format", kFormat},
         {"model", model_kind_name(m.model)},
         {"als", {{"factors", m.als.factors}, {"iterations", m.als.iterations},
                  {"regularization", m.als.regularization}, {"alpha", m.als.alpha}}},
         {"hybrid", {{"tags", m.weights.tags}, {"popularity", m.weights.popularity}}},
         {"half_life_days", m.half_life_days},
         {"weight", m.weight},
         {"prior_plays", m.term.prior_plays}};
  json plays = json::object();
  for (uint32_t t = 0; t < m.dayparts.titles; ++t) {
    const uint32_t* h = m.dayparts.hours(t);
    bool any = false;
    for (size_t i = 0; i < 24; ++i) any |= h[i] != 0;
    if (any) plays[catalog.title(t).id] = std::vector<uint32_t>(h, h + 24);
  }
  j["plays"] = std::move(plays);
  if (report) {
    json r{{"spread", report->spread},
           {"best_z", report->best_z},
           {"test_z", report->test_z},
           {"fit_users", report->fit_users},
           {"fit_hits_without", report->fit_hits_without},
           {"fit_hits_with", report->fit_hits_with},
           {"test_users", report->test_users},
           {"test_hits_without", report->test_hits_without},
           {"test_hits_with", report->test_hits_with},
           {"test_users_by_hour", report->test_users_by_hour},
           {"test_hits_without_by_hour", report->test_hits_without_by_hour},
           {"test_hits_with_by_hour", report->test_hits_with_by_hour}};
    for (const auto& g : report->grid) r["grid"].push_back({{"weight", g.weight}, {"hits", g.hits}, {"z", g.z}});
    j["fit"] = std::move(r);
  }
  write_file_atomically(path, j.dump(1) + "\n");
}

DaypartModel load_daypart_model(const std::string& path, const Catalog& catalog) {
  std::ifstream in(path);
  MARQUEE_CHECK_INPUT(in.good(), "cannot open the daypart model {}", path);
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    MARQUEE_THROW_AS(InputError, "{}: not JSON ({})", path, e.what());
  }
  // j.value("format", "") would throw a type error (exit 1, no file named) for "format": 1.
  const auto format = j.is_object() ? j.find("format") : j.end();
  MARQUEE_CHECK_INPUT(j.is_object() && format != j.end() && format->is_string() && format->get<std::string>() == kFormat,
                      "{}: not a daypart model (expected \"format\": \"{}\"; write one with `marquee daypart`)", path,
                      kFormat);
  DaypartModel m;
  size_t unknown = 0;
  try {
    m.model = parse_model_kind(j.at("model").get<std::string>());
    const json& als = j.at("als");
    m.als.factors = als.at("factors").get<size_t>();
    m.als.iterations = als.at("iterations").get<size_t>();
    m.als.regularization = als.at("regularization").get<float>();
    m.als.alpha = als.at("alpha").get<float>();
    m.weights.tags = j.at("hybrid").at("tags").get<float>();
    m.weights.popularity = j.at("hybrid").at("popularity").get<float>();
    m.half_life_days = j.at("half_life_days").get<double>();
    m.weight = j.at("weight").get<double>();
    m.term.prior_plays = j.at("prior_plays").get<double>();
    MARQUEE_CHECK_INPUT(std::isfinite(m.weight) && m.weight >= 0 && m.weight <= kMaxDaypartWeight,
                        "{}: weight {} is not a number in [0, {:g}] (a fitted weight is a few times the score "
                        "spread; this one would swamp every score)",
                        path, m.weight, kMaxDaypartWeight);
    MARQUEE_CHECK_INPUT(std::isfinite(m.term.prior_plays) && m.term.prior_plays > 0,
                        "{}: prior_plays {} is not a positive number", path, m.term.prior_plays);
    m.dayparts.titles = catalog.num_titles();
    m.dayparts.plays.assign(catalog.num_titles() * 24, 0);
    MARQUEE_CHECK_INPUT(j.at("plays").is_object(), "{}: \"plays\" must map title ids to 24 hourly counts", path);
    for (const auto& [id, hours] : j.at("plays").items()) {
      const auto t = catalog.find_title(id);
      if (!t) {
        ++unknown;
        continue;
      }
      MARQUEE_CHECK_INPUT(hours.is_array() && hours.size() == 24, "{}: title {} needs 24 hourly play counts", path, id);
      for (size_t h = 0; h < 24; ++h) {
        MARQUEE_CHECK_INPUT(hours[h].is_number_unsigned() && hours[h].get<uint64_t>() <= UINT32_MAX,
                            "{}: title {}: play count {} at hour {} is not a count", path, id, hours[h].dump(), h);
        m.dayparts.plays[size_t(*t) * 24 + h] = hours[h].get<uint32_t>();
      }
    }
  } catch (const json::exception& e) {
    MARQUEE_THROW_AS(InputError, "{}: bad daypart model ({})", path, e.what());
  } catch (const ArgumentError& e) {
    MARQUEE_THROW_AS(InputError, "{}: {}", path, e.what());
  }
  if (unknown > 0)
    spdlog::warn("{}: {} titles are not in the catalogue and get no daypart term", path, unknown);
  m.bias = daypart_bias(m.dayparts, m.term);
  for (size_t i = 0; i < m.bias.size(); ++i)
    MARQUEE_CHECK_INPUT(std::isfinite(m.bias[i]) && std::isfinite(float(m.weight) * m.bias[i]),
                        "{}: title {} at hour {}: the term weight x bias is not finite (prior_plays {}, weight {})",
                        path, catalog.title(uint32_t(i / 24)).id, i % 24, m.term.prior_plays, m.weight);
  return m;
}

}  // namespace marquee
