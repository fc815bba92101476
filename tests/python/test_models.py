"""Models: train, save/load, recommend, similar, fold_in and explain equal the CLI's results."""
import threading

import numpy as np
import pytest

import marquee
from conftest import read_csv


def cli_rows(path):
    """score's CSV as {user_id: [(title_id, score), ...]} in rank order."""
    out = {}
    for r in read_csv(path):
        out.setdefault(r["user_id"], []).append((r["title_id"], float(r["score"])))
    return out


def assert_equal_to_cli(model, catalog, rows, k):
    ids = catalog.title_ids
    seen_users = 0
    for users, titles, scores in model.recommend_all(k, batch=128):
        assert titles.shape == scores.shape == (len(users), k)
        for u, user in enumerate(users):
            expected = rows.get(user, [])
            got = [(ids[t], float(s)) for t, s in zip(titles[u], scores[u]) if t >= 0]
            assert [t for t, _ in got] == [t for t, _ in expected], user
            assert np.allclose([s for _, s in got], [s for _, s in expected], atol=2e-6), user
            seen_users += 1
    assert seen_users == len(model.profiles)


@pytest.fixture(scope="module")
def tags_model(catalog, data):
    return marquee.train(catalog, data / "events.csv", model="tags", time_budget=60)


def test_trained_and_loaded_models_equal_cli_score(catalog, data, tmp_path, cli, tags_model, profiles):
    cli("train", "--catalog", data / "catalog", "--events", data / "events.csv", "--model", "tags",
        "--out", tmp_path / "model")
    cli("score", "--catalog", data / "catalog", "--events", data / "events.csv", "--model-dir", tmp_path / "model",
        "--top", 7, "--out", tmp_path / "recs.csv")
    rows = cli_rows(tmp_path / "recs.csv")
    assert tags_model.family == "tags"
    assert_equal_to_cli(tags_model, catalog, rows, 7)
    loaded = marquee.Model.load(tmp_path / "model", catalog, profiles)
    assert loaded.version.startswith("tags-") and loaded.manifest["family"] == "tags"
    assert_equal_to_cli(loaded, catalog, rows, 7)


def test_saved_model_scores_with_the_cli(catalog, data, tmp_path, cli):
    model = marquee.train(catalog, data / "events.csv", model="ease", time_budget=120, threads=1)
    assert model.family == "ease"
    assert model.validation["trials"], "the search table travels with the model"
    model.save(tmp_path / "ease")
    assert model.version.startswith("ease-")
    cli("score", "--catalog", data / "catalog", "--events", data / "events.csv", "--model-dir", tmp_path / "ease",
        "--top", 5, "--exclude", "completed", "--out", tmp_path / "recs.csv")
    rows = cli_rows(tmp_path / "recs.csv")
    ids = catalog.title_ids
    users = model.profiles.user_ids
    titles, scores = model.recommend(users, 5, exclude="completed")
    for u, user in enumerate(users):
        got = [ids[t] for t in titles[u] if t >= 0]
        assert got == [t for t, _ in rows.get(user, [])], user
    # The manifest round-trips: a loaded copy ranks the same.
    again = marquee.Model.load(tmp_path / "ease", catalog, model.profiles)
    t2, s2 = again.recommend(users, 5, exclude="completed")
    assert np.array_equal(t2, titles) and np.array_equal(s2, scores)


def test_similar_equals_cli(catalog, data, tmp_path, cli, tags_model):
    cli("train", "--catalog", data / "catalog", "--events", data / "events.csv", "--model", "tags",
        "--out", tmp_path / "model")
    title = catalog.title_ids[5]
    cli("similar", "--catalog", data / "catalog", "--title", title, "--top", 6, "--out", tmp_path / "sim.csv")
    expected = [(r["similar_title_id"], float(r["score"])) for r in read_csv(tmp_path / "sim.csv")]
    for got_t, got_s in (catalog.similar([title], 6), tags_model.similar([title], 6)):
        assert [catalog.title_ids[t] for t in got_t[0]] == [t for t, _ in expected]
        assert np.allclose(got_s[0], [s for _, s in expected], atol=2e-6)
        assert 5 not in got_t[0]
    t, s = tags_model.similar([0, 1, 2], 3)
    assert t.shape == (3, 3)


def test_exclusions_honoured(tags_model, profiles):
    users = list(range(40))
    watched, _ = tags_model.recommend(users, 20, exclude="watched")
    everything, _ = tags_model.recommend(users, 20, exclude="none")
    overlap = 0
    for u in users:
        seen = set(profiles.seen(u)[0].tolist())
        assert not seen & set(watched[u].tolist())
        overlap += len(seen & set(everything[u].tolist()))
    assert overlap > 0, "exclude='none' ranks watched titles too"


def test_fold_in_and_explain_agree_with_recommend(tags_model, profiles):
    titles, scores = tags_model.recommend([3, 4], 5)
    v = tags_model.fold_in([3, 4])
    assert v.shape == (2, tags_model.dim)
    direct = v @ tags_model.title_vectors.T
    for u in range(2):
        assert np.allclose(direct[u, titles[u]], scores[u], atol=1e-5)
    ex = tags_model.explain(profiles.user_ids[3], int(titles[0, 0]))
    assert ex["rank"] == 1 and abs(ex["score"] - scores[0, 0]) < 1e-5
    ex = tags_model.explain(3, int(titles[0, 4]))
    assert ex["rank"] == 5


def test_recommend_errors(tags_model, catalog, tmp_path):
    with pytest.raises(ValueError):
        tags_model.recommend([0], 0)
    with pytest.raises(ValueError):
        tags_model.recommend([0], -3)
    with pytest.raises(ValueError):
        tags_model.recommend([0], catalog.num_titles + 1)
    with pytest.raises(ValueError):
        tags_model.recommend(["nobody"], 5)
    with pytest.raises(ValueError):
        tags_model.recommend([0], 5, exclude="seen-ish")
    with pytest.raises(ValueError):
        tags_model.recommend([0], 5, backend="tpu")
    with pytest.raises(ValueError):
        list(tags_model.recommend_all(5, batch=0))
    with pytest.raises(marquee.InputError):
        marquee.Model.load(tmp_path / "no-model", catalog)
    with pytest.raises(ValueError):
        marquee.train(catalog, "x.csv", model="magic")
    with pytest.raises(marquee.InputError):
        marquee.train(catalog, tmp_path / "missing.csv", model="tags")


def test_damaged_model_folder_is_input_error(tags_model, catalog, tmp_path):
    tags_model.save(tmp_path / "m")
    npy = sorted(p for p in (tmp_path / "m").iterdir() if p.suffix == ".npy")[0]
    data = npy.read_bytes()
    npy.write_bytes(data[: len(data) // 2])
    with pytest.raises(marquee.InputError):
        marquee.Model.load(tmp_path / "m", catalog)


def test_loaded_model_without_profiles(tags_model, catalog, profiles, tmp_path):
    tags_model.save(tmp_path / "m")
    loaded = marquee.Model.load(tmp_path / "m", catalog)
    with pytest.raises(ValueError):
        loaded.recommend([0], 5)
    t1, _ = loaded.recommend([0, 1], 5, profiles=profiles)
    t2, _ = tags_model.recommend([0, 1], 5)
    assert np.array_equal(t1, t2)


def test_concurrent_recommend_equals_serial(tags_model):
    users = list(range(len(tags_model.profiles)))
    expected = tags_model.recommend(users, 10)
    results = [None] * 4

    def work(i):
        results[i] = tags_model.recommend(users, 10)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for titles, scores in results:
        assert np.array_equal(titles, expected[0]) and np.array_equal(scores, expected[1])


def test_fold_in_from_events_of_a_user_the_model_has_not_seen(tags_model, profiles, data, tmp_path):
    # Today's events of a new member: user 3's rows under a new id fold in to user 3's vector.
    user = profiles.user_ids[3]
    with open(data / "events.csv") as f:
        header, *rows = f.read().splitlines()
    uid = header.split(",").index("user_id")
    mine = [r.split(",") for r in rows if r.split(",")[uid] == user]
    assert mine
    for r in mine:
        r[uid] = "u-new"
    (tmp_path / "today.csv").write_text("\n".join([header] + [",".join(r) for r in mine]) + "\n")
    v_new = tags_model.fold_in("u-new", events=tmp_path / "today.csv")
    v_old = tags_model.fold_in([3])
    assert v_new.shape == (1, tags_model.dim)
    assert np.allclose(v_new, v_old, atol=1e-6)
    with pytest.raises(ValueError):
        tags_model.fold_in("u-new", events=tmp_path / "today.csv", profiles=profiles)
    with pytest.raises(ValueError):
        tags_model.fold_in("nobody", events=tmp_path / "today.csv")
