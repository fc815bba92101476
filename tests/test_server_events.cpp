// Online events on the front service (docs/serving.md): POST /v1/events changes the next
// recommendations exactly as the same rows appended to the events file would, and updates served from
// a profiles file replace the touched title's weight. The server runs in-process (server_fixture.h).
#include "host/jobs/jobs.h"
#include "server_fixture.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

using namespace marquee;
using namespace marquee::server;
using namespace marquee::test;
using json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Online events

TEST_F(ServerTest, IngestedEventsChangeTheNextRecommendationsExactlyAsAFileWould) {
  TestServer s(engine_options(), http_options());
  auto cli = s.client();
  const auto want = read_recs(recs_path("watched"));
  const std::string user = std::next(want.begin(), 3)->first;
  const std::string top = want.at(user)[0].substr(0, want.at(user)[0].find(':'));
  const auto snap = s.engine->snapshot();
  const double duration = snap->catalog.title(*snap->catalog.find_title(top)).duration_s;
  // The user watches their top recommendation to the end; a new user watches one title.
  const std::vector<std::string> rows = {
      fmt::format("2026-06-01T20:00:00Z,{},{},play,0,", user, top),
      fmt::format("2026-06-01T21:30:00Z,{},{},complete,{},", user, top, duration),
      fmt::format("2026-06-02T08:00:00+02:00,newcomer,{},play,0,", top),
      fmt::format("2026-06-02T08:40:00+02:00,newcomer,{},stop,{},", top, duration * 0.8),
  };
  json evs = json::array();
  for (const auto& row : rows) {
    const auto f = split(row, ',');
    evs.push_back({{"ts", f[0]}, {"user_id", f[1]}, {"title_id", f[2]}, {"event", f[3]}, {"position_s", std::stod(f[4])}});
  }
  evs.push_back(evs[0]);  // a duplicate in the same request is rejected
  httplib::Headers auth{{"Authorization", "Bearer " + kToken}};
  const auto r = cli.Post("/v1/events", auth, json{{"events", evs}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json b = body_of(r);
  EXPECT_EQ(b["accepted"], 4);
  EXPECT_EQ(b["users_updated"], 2);
  EXPECT_EQ(b["users_added"], 1);
  ASSERT_EQ(b["rejected"].size(), 1u);
  EXPECT_EQ(b["rejected"][0]["index"], 4);
  // Sent again: all duplicates now, nothing changes.
  expect_error(cli.Post("/v1/events", auth, json{{"events", {evs[0]}}}.dump(), "application/json"), 400,
               "duplicate event");

  // The reference: the nightly job over the events file with these rows appended.
  const std::string appended = dir() + "/events_appended.csv";
  std::string text = read_text(events());
  for (const auto& row : rows) text += row + "\n";
  write_text(appended, text);
  score_job(appended, "watched", dir() + "/recs_appended.csv");
  const auto after = read_recs(dir() + "/recs_appended.csv");
  ASSERT_TRUE(after.count("newcomer"));
  for (const std::string& u : {user, std::string("newcomer")}) {
    const json got = body_of(cli.Get(("/v1/users/" + u + "/recommendations?k=10").c_str()));
    EXPECT_EQ(items_of(got), after.at(u)) << u;
  }
  const json mine = body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=10").c_str()));
  for (const auto& it : mine["items"]) EXPECT_NE(it["title_id"], top) << "a watched title is excluded";
  EXPECT_NE(items_of(mine), want.at(user));
  // Users the events did not touch are unchanged.
  const std::string other = want.begin()->first;
  EXPECT_EQ(items_of(body_of(cli.Get(("/v1/users/" + other + "/recommendations?k=10").c_str()))), want.at(other));
}

TEST_F(ServerTest, OnlineUpdatesFromAProfilesFileReplaceTheTouchedTitlesWeight) {
  const std::string profiles = dir() + "/profiles.bin";
  ProfileJobOptions po;
  po.input.catalog_dir = catalog();
  po.input.events_path = events();
  po.out_path = profiles;
  run_profile_job(po);
  EngineOptions eo = engine_options();
  eo.input.events_path.clear();
  eo.input.profiles_path = profiles;
  TestServer s(eo, http_options());
  auto cli = s.client();
  // Same answers as from events, before any update.
  const auto want = read_recs(recs_path("watched"));
  const std::string user = std::next(want.begin(), 5)->first;
  EXPECT_EQ(items_of(body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=10").c_str()))), want.at(user));
  // A new title for this user: its events decide its weight, the file's other weights stay.
  const std::string top = want.at(user)[0].substr(0, want.at(user)[0].find(':'));
  httplib::Headers auth{{"Authorization", "Bearer " + kToken}};
  const json ev{{"events",
                 {{{"ts", 1780000000}, {"user_id", user}, {"title_id", top}, {"event", "play"}, {"position_s", 0}},
                  {{"ts", 1780003000}, {"user_id", user}, {"title_id", top}, {"event", "complete"}, {"position_s", 100}}}}};
  ASSERT_EQ(cli.Post("/v1/events", auth, ev.dump(), "application/json")->status, 200);
  const auto before = s.engine->snapshot();
  const auto st = before->users.find(user);
  ASSERT_TRUE(st);
  EXPECT_TRUE(std::any_of(st->seen.begin(), st->seen.end(),
                          [&](const SeenTitle& x) { return before->catalog.title(x.title).id == top; }));
  const json got = body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=10").c_str()));
  for (const auto& it : got["items"]) EXPECT_NE(it["title_id"], top);
}
