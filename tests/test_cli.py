"""The command line: help with examples, bad input as one line with exit code 2, real runs."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest



@pytest.mark.parametrize(
    "command",
    [["run"], ["insight"], ["trends"], ["concepts"], ["incubate", "ab"], ["incubate", "bass"], ["incubate", "segments"],
     ["incubate", "uplift"], ["incubate", "plan"], ["config"]],
)
def test_every_command_has_help_with_an_example(cli, command):
    code, out, _ = cli(*command, "--help")
    assert code == 0
    assert "Example" in out and "launchlab" in out


def test_missing_reviews_file_is_one_line_and_exit_2(cli, tmp_path):
    code, out, err = cli("insight", tmp_path / "nope.csv", "--out", tmp_path / "o")
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "nope.csv" in lines[0] and "file not found" in lines[0]
    assert "Traceback" not in err + out


def test_wrong_column_flag_is_one_line_and_exit_2(cli, tmp_path):
    path = tmp_path / "r.csv"
    pd.DataFrame({"body": ["nice dress", "too small"]}).to_csv(path, index=False)
    code, out, err = cli("insight", path, "--text-col", "comment", "--out", tmp_path / "o")
    assert code == 2 and "column 'comment'" in err and "Traceback" not in err


def test_ab_missing_metric_column_exit_2(cli, repo, tmp_path):
    code, _, err = cli(
        "incubate", "ab", repo / "data" / "launch_experiment.csv",
        "--variant-col", "variant", "--metric-col", "nope", "--out", tmp_path,
    )
    assert code == 2 and "'nope'" in err and "\n" not in err.strip()


def test_incubate_ab_writes_readout(cli, repo, tmp_path):
    code, out, err = cli(
        "incubate", "ab", repo / "data" / "launch_experiment.csv",
        "--variant-col", "variant", "--metric-col", "converted", "--unit-col", "user_id", "--out", tmp_path,
    )
    assert code == 0, err
    readout = json.loads((tmp_path / "readout.json").read_text())
    assert readout["decision"] == "scale" and readout["reasons"][0].startswith("treatment vs control on converted:")
    assert set(readout["variants"]) == {"control", "treatment"}
    assert "rows in" in err


def test_incubate_bass_on_bundled_adoption_series(cli, repo, tmp_path):
    code, out, err = cli("incubate", "bass", repo / "data" / "ibm_mainframe_generations.csv", "--out", tmp_path)
    assert code == 0, err
    fits = json.loads((tmp_path / "bass.json").read_text())
    assert {"SIU1", "SIU2", "SIU3", "SIU4"} <= set(fits)
    assert all(fits[k]["m"] > 0 for k in ("SIU1", "SIU2"))


def test_trends_on_bundled_weekly_sales(cli, repo, tmp_path):
    subset = pd.read_csv(repo / "data" / "uci_sales_weekly.csv").head(30)
    path = tmp_path / "sales.csv"
    subset.to_csv(path, index=False)
    code, out, err = cli("trends", path, "--horizon", "4", "--out", tmp_path / "t")
    assert code == 0, err
    forecasts = pd.read_parquet(tmp_path / "t" / "forecasts.parquet")
    trends = pd.read_parquet(tmp_path / "t" / "trends.parquet")
    assert len(forecasts) == 30 * 4 and set(trends["unique_id"]) == set(subset["Product_Code"])
    assert "30 rows in" not in err  # counts are per value: 30 series × 52 weeks
    assert "1,560 rows in = 1,560 used + 0 quarantined" in err


def test_insight_then_concepts_with_hashing_embedder(cli, clothing_reviews, repo, tmp_path):
    path = tmp_path / "reviews.parquet"
    clothing_reviews.to_parquet(path)
    code, out, err = cli("insight", path, "--out", tmp_path / "i", "--model", "hashing-256")
    assert code == 0, err
    needs = pd.read_parquet(tmp_path / "i" / "needs.parquet")
    reviews = pd.read_parquet(tmp_path / "i" / "reviews.parquet")
    assert len(needs) >= 2 and len(reviews) == 300
    assert reviews["sentiment"].between(-1, 1).all()
    # Mention level by default: several mentions per review, each linked to its review.
    mentions = pd.read_parquet(tmp_path / "i" / "mentions.parquet")
    assert len(mentions) > len(reviews) and set(mentions["review_id"]) <= set(reviews["review_id"])
    # It says where sentiment came from and how good it is held out.
    said = " ".join(out.split())
    assert re.search(r"learned from this corpus' star ratings .* accuracy on reviews held out from training: \d+\.\d% over [\d,]+ rated reviews", said), out
    code, out, err = cli(
        "concepts", repo / "data" / "concepts.yaml", "--insight", tmp_path / "i", "--out", tmp_path / "c", "--model", "hashing-256"
    )
    assert code == 0, err
    scores = pd.read_parquet(tmp_path / "c" / "scores.parquet")
    # ranks 1..n, best score first
    assert sorted(scores["rank"]) == list(range(1, len(scores) + 1))
    assert scores.sort_values("rank")["score"].is_monotonic_decreasing
    assert scores["score"].between(0, 100).all()


def test_insight_review_level_keeps_one_mention_per_review(cli, clothing_reviews, tmp_path):
    path = tmp_path / "reviews.parquet"
    clothing_reviews.head(120).to_parquet(path)
    out_dir = tmp_path / "r"
    code, _, err = cli("insight", path, "--out", out_dir, "--model", "hashing-64", "--level", "review", "--cache-dir", tmp_path / "c")
    assert code == 0, err
    mentions = pd.read_parquet(out_dir / "mentions.parquet")
    assert len(mentions) == 120 and mentions["review_id"].is_unique  # a review is its one mention
    assert any((tmp_path / "c").iterdir())  # the embedding cache went where it was told
    code, _, err = cli("insight", path, "--out", out_dir, "--level", "sentence")
    assert code == 2 and "sentence" in err


def test_concepts_without_insight_folder_is_clear(cli, repo, tmp_path):
    code, _, err = cli("concepts", repo / "data" / "concepts.yaml", "--insight", tmp_path, "--out", tmp_path / "c")
    assert code == 2 and "needs.parquet not found" in err


def test_concepts_norms_grow_across_runs(cli, clothing_reviews, repo, tmp_path):
    path = tmp_path / "reviews.parquet"
    clothing_reviews.to_parquet(path)
    assert cli("insight", path, "--out", tmp_path / "i", "--model", "hashing-256")[0] == 0
    norms = tmp_path / "norms.parquet"
    renamed = tmp_path / "next.yaml"
    renamed.write_text((repo / "data" / "concepts.yaml").read_text().replace("concept_id: CON-", "concept_id: NEXT-"))
    for run, concepts in ((1, repo / "data" / "concepts.yaml"), (2, renamed)):
        code, out, err = cli("concepts", concepts, "--insight", tmp_path / "i", "--out", tmp_path / f"c{run}",
                             "--model", "hashing-256", "--norms", norms)
        assert code == 0, err
        assert len(pd.read_parquet(norms)) == 10 * run  # every scored concept is kept
    scores = pd.read_parquet(tmp_path / "c2" / "scores.parquet")
    assert (scores["norm_n"] >= 1).all()


def test_incubate_ab_with_cuped_and_sequential(cli, repo, tmp_path):
    code, out, err = cli(
        "incubate", "ab", repo / "data" / "launch_experiment.csv", "--variant-col", "variant", "--metric-col", "converted",
        "--unit-col", "user_id", "--covariate-col", "pre_sessions", "--sequential", "--date-col", "date", "--out", tmp_path,
    )
    assert code == 0, err
    readout = json.loads((tmp_path / "readout.json").read_text())
    assert "cuped" in readout and "sequential" in readout
    code, _, err = cli("incubate", "ab", repo / "data" / "launch_experiment.csv", "--variant-col", "variant", "--metric-col", "converted",
                       "--guardrail", "revenue:sideways", "--out", tmp_path)
    assert code == 2 and "unknown direction" in err


def test_incubate_impact_recovers_a_seeded_campaign_effect(cli, tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(60)
    base = 100 + np.sin(t / 5) * 10
    frame = pd.DataFrame({"period": t, "c1": base + rng.normal(0, 2, 60), "c2": base * 0.5 + rng.normal(0, 2, 60),
                          "launch": base * 1.2 + rng.normal(0, 2, 60)})
    frame.loc[frame["period"] >= 40, "launch"] += 15
    frame.to_csv(tmp_path / "sales.csv", index=False)
    code, out, err = cli("incubate", "impact", tmp_path / "sales.csv", "--treated", "launch", "--intervention", "40", "--out", tmp_path / "o")
    assert code == 0, err
    impact = json.loads((tmp_path / "o" / "impact.json").read_text())
    assert impact["avg_effect_lo"] < 15 < impact["avg_effect_hi"] and impact["significant"]
    code, _, err = cli("incubate", "impact", tmp_path / "sales.csv", "--treated", "nope", "--intervention", "40", "--out", tmp_path / "o")
    assert code == 2 and "'nope' not found" in err


def test_incubate_segments_finds_where_the_page_works_better(cli, repo, tmp_path):
    code, out, err = cli(
        "incubate", "segments", repo / "data" / "launch_experiment.csv", "--segment-col", "channel", "--segment-col", "petite",
        "--segment-col", "recency_days", "--band", "recency_days:7,30,90", "--unit-col", "user_id", "--out", tmp_path,
    )
    assert code == 0, err
    assert "20,070 rows in = 19,970 used + 100 quarantined" in err
    table = pd.read_parquet(tmp_path / "segments.parquet")
    assert set(table["column"]) == {"channel", "petite", "recency_days"}
    assert set(table.loc[table["column"] == "recency_days", "level"]) == {"< 7", "7-<30", "30-<90", ">= 90"}
    assert "works better for petite = 1" in out
    assert (tmp_path / "heterogeneity.parquet").exists() and (tmp_path / "readout.json").exists()


def test_incubate_uplift_states_the_targeting_rule(cli, repo, tmp_path):
    code, out, err = cli(
        "incubate", "uplift", repo / "data" / "launch_experiment.csv", "--covariate-col", "petite", "--covariate-col", "channel",
        "--unit-col", "user_id", "--target-share", "0.2", "--folds", "3", "--out", tmp_path,
    )
    assert code == 0, err
    uplift = json.loads((tmp_path / "uplift.json").read_text())
    assert uplift["rule"]["share"] == 0.2 and uplift["covariates"] == ["petite", "channel"]
    assert "Treat the top 20% of customers" in out and "Qini coefficient" in out
    targeting = pd.read_parquet(tmp_path / "uplift_targeting.parquet")
    assert 0.2 in set(targeting["share"])


def test_incubate_plan_says_how_many_to_make(cli, repo, tmp_path):
    code, out, err = cli("incubate", "plan", repo / "data" / "launch_adoption_weekly.csv", "--horizon", "6", "--price", "118",
                         "--unit-cost", "38", "--salvage", "20", "--out", tmp_path)
    assert code == 0, err
    plan = json.loads((tmp_path / "plan.json").read_text())["true-petite-midi-dress"]
    assert plan["economics"] == "given" and plan["horizon"] == 6
    assert plan["service_level"] == pytest.approx((118 - 38) / (118 - 20))
    assert "Make " in out and "17 rows in = 17 used + 0 quarantined" in err
    forecast = pd.read_parquet(tmp_path / "demand_forecast.parquet")
    assert list(forecast["step"]) == [1, 2, 3, 4, 5, 6] and (forecast["q05"] <= forecast["q95"]).all()


@pytest.mark.parametrize("args, fragment", [
    (["plan", "data/launch_adoption_weekly.csv", "--price", "10", "--unit-cost", "12"], "unit_cost < price"),
    (["segments", "data/launch_experiment.csv", "--segment-col", "petite", "--band", "petite"], "COLUMN:EDGE"),
    (["segments", "data/launch_experiment.csv", "--segment-col", "loyalty"], "'loyalty'"),
    (["uplift", "data/launch_experiment.csv", "--covariate-col", "petite", "--learner", "z"], "learner"),
    (["uplift", "data/launch_experiment.csv", "--covariate-col", "converted"], "both a covariate and"),
])
def test_bad_incubation_options_are_one_line_and_exit_2(cli, repo, tmp_path, args, fragment):
    command, path, *rest = args
    code, out, err = cli("incubate", command, repo / path, *rest, "--out", tmp_path)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1, err


def test_an_adoption_file_too_short_to_fit_is_named_in_its_one_line_error(cli, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("unique_id,ds,y\na,2024-01-01,5\na,not-a-date,7\n")
    for command in ("bass", "plan"):
        code, _, err = cli("incubate", command, path, "--out", tmp_path / command)
        assert code == 2 and len(err.strip().splitlines()) == 1 and f"{path}, column 'y': no series could be fitted" in err, err
