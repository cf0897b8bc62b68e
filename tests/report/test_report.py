"""The report renders from a synthetic run dir: tables, plots, self-contained HTML."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from corpusfit.report.collect import collect
from corpusfit.report.render import write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURES = ("per_query", "metrics", "types_agreement", "types", "losses", "time")


def _jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _stage(run: Path, folder: str, counts: dict, seconds: float) -> Path:
    d = run / folder
    d.mkdir(parents=True, exist_ok=True)
    (d / "manifest.json").write_text(json.dumps({"config_hash": "x", "counts": counts}))
    (d / ".pipeline.json").write_text(json.dumps({"status": "done", "seconds": seconds}))
    return d


def make_run_dir(run: Path) -> Path:
    types = ["question", "claim", "keywords"]
    _stage(run, "01-ingest", {"passages": 120, "duplicates": 3}, 1.5)
    gen = _stage(run, "02-generate", {"accepted": 9, "rejected": {"too_short": 2, "preamble": 1}},
                 300.0)
    _jsonl(gen / "queries.jsonl", [{"qid": f"q{i}", "text": f"query {i}", "type": types[i % 3],
                                    "source_id": f"d{i}"} for i in range(9)])
    _jsonl(gen / "rejected.jsonl", [{"source_id": "d1", "type": "claim", "reason": "too_short",
                                     "raw": "x"}] * 3)
    mine = _stage(run, "03-mine", {"queries": 9, "round_trip_kept": 8}, 40.0)
    _jsonl(mine / "candidates.jsonl", [{"qid": f"q{i}", "type": types[i % 3]} for i in range(8)])
    label = _stage(run, "04-label", {"lists": 6, "source_first": 7}, 120.0)
    _jsonl(label / "lists.jsonl", [{"qid": f"q{i}", "query": f"query {i}", "type": types[i % 3],
                                    "source_id": f"d{i}", "doc_ids": [f"d{i}", "d99"],
                                    "split": "dev" if i == 0 else "train"} for i in range(6)])
    _jsonl(run / "01-ingest" / "corpus.jsonl", [{"_id": f"d{i}", "title": f"Title {i}",
                                                  "text": f"passage text {i}"} for i in range(9)])
    for folder, scale in (("05-train", 1.0), ("05-train-infonce", 2.0)):
        train = _stage(run, folder, {"train_lists": 5, "result": {
            "mode": "query_only", "kept": "trained", "base_dev_loss": 0.5,
            "best_dev_loss": 0.4, "best_epoch": 1}}, 200.0)
        manifest = json.loads((train / "manifest.json").read_text())
        manifest["config"] = {"student": "minilm", "objective": {"listwise": 1.0}}
        (train / "manifest.json").write_text(json.dumps(manifest))
        _jsonl(train / "train_log.jsonl", [
            {"step": s, "epoch": 0, "lr": 1e-4, "loss": scale / (s + 1),
             "listwise": 0.8 / (s + 1), "infonce": 0.2 * scale / (s + 1)} for s in range(12)])
    ev = _stage(run, "06-evaluate", {"test_queries": 3}, 60.0)
    metrics = {"n_queries": 3, "baseline": "base", "retrievers": {
        name: {"name": name, "spec": name, "metrics": {"nDCG@10": v, "R@100": r},
               **({"vs_baseline": {"metric": "nDCG@10", "delta": v - 0.389, "p_ttest": 0.04,
                                   "p_permutation": 0.05}} if name != "base" else {})}
        for name, v, r in (("base", 0.389, 0.789), ("specialized", 0.431, 0.82),
                           ("infonce", 0.37, 0.77), ("bm25", 0.352, 0.734),
                           ("hybrid", 0.411, 0.801))}}
    (ev / "metrics.json").write_text(json.dumps(metrics))
    per_query = {"base": {"t1": 0.5, "t2": 0.3, "t3": 0.2, "t4": 0.4},
                 "specialized": {"t1": 0.7, "t2": 0.3, "t3": 0.1, "t4": 0.6},
                 "infonce": {"t1": 0.5, "t2": 0.3, "t3": 0.2, "t4": 0.4}}
    (ev / "per_query.json").write_text(json.dumps({"metric": "nDCG@10",
                                                   "retrievers": per_query}))
    agree = {m: {t: {"n": 2, "kendall_tau": tau, "ndcg10_vs_teacher": 0.7, "top1": 0.5}
                 for t in ["all", *types]} for m, tau in (("base", 0.2), ("specialized", 0.5))}
    (ev / "agreement.json").write_text(json.dumps(agree))
    return run


def test_collect_reads_every_artifact(tmp_path):
    data = collect(make_run_dir(tmp_path / "run"))
    assert data["type_counts"]["question"] == {"generated": 3, "mined": 3, "labeled": 2,
                                               "labeled_dev": 1, "labeled_train": 1}
    assert data["type_counts"]["claim"]["rejected"] == 3
    assert set(data["losses"]) == {"05-train", "05-train-infonce"}
    assert set(data["losses"]["05-train"]) == {"loss", "listwise", "infonce"}  # not lr/epoch
    assert data["losses"]["05-train"]["loss"][0] == (0.0, 1.0)
    assert {"stage": "02-generate", "count": "rejected.too_short", "value": 2} in data["filters"]
    assert data["seconds"]["02-generate"] == 300.0


def test_report_files_are_written_and_self_contained(tmp_path):
    run = make_run_dir(tmp_path / "run")
    out = run / "07-report"
    (out / "plots").mkdir(parents=True)
    (out / "plots" / "agreement.png").write_bytes(PNG_MAGIC)  # an earlier report's figure
    info = write_report(run, out, title="demo")
    assert info["figures"] == 6
    assert sorted(p.stem for p in (out / "plots").iterdir()) == sorted(FIGURES)
    md = (out / "report.md").read_text()
    assert "| specialized | 0.4310 | 0.8200 | +0.0420 | 0.05 |" in md
    for stem in FIGURES:
        assert (out / "plots" / f"{stem}.png").read_bytes().startswith(PNG_MAGIC)
        assert f"(plots/{stem}.png)" in md
    html = (out / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 6
    assert all(base64.b64decode(b).startswith(PNG_MAGIC) for b in images)
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:|//)', html)  # nothing fetched from outside
    assert "rejected.too_short" in html and "kendall_tau" in html


def test_report_says_first_when_the_base_model_was_kept(tmp_path):
    run = make_run_dir(tmp_path / "run")
    result = {"kept": "base", "base_dev_loss": 0.41, "best_dev_loss": 0.45, "best_epoch": 2}
    _stage(run, "05-train", {"train_lists": 5, "result": result}, 200.0)
    write_report(run, run / "07-report", title="demo")
    md = (run / "07-report" / "report.md").read_text()
    head = md.split("Run directory")[0]  # the headline, before any section
    assert ("corpusfit kept the base model: the base model was better on the dev lists (dev "
            "loss 0.4100 vs best trained 0.4500), so the specialized model is the base model, "
            "unchanged.") in head
    html = (run / "07-report" / "report.html").read_text()
    assert "corpusfit kept the base model" in html.split("Run directory")[0]
    _stage(run, "05-train", {"result": {**result, "kept": "trained"}}, 200.0)
    write_report(run, run / "07-report", title="demo")
    md = (run / "07-report" / "report.md").read_text()
    assert "kept the base model" not in md
    assert "The never-worse guard kept the trained model (dev loss 0.4500 vs base 0.4100)" in md


def test_headline_comes_first_with_delta_interval_and_wins(tmp_path):
    run = make_run_dir(tmp_path / "run")
    write_report(run, run / "07-report", title="demo")
    md = (run / "07-report" / "report.md").read_text()
    head, body = md.split("Run directory")
    # base 0.389 -> specialized 0.431; per query: +0.2, 0, -0.1, +0.2
    assert "**specialized: nDCG@10 0.3890 → 0.4310 (Δ +0.0420; 95% CI " in head
    assert "p = 0.05) on 3 test queries" in head
    assert "Better on 2 queries, worse on 1, unchanged on 1 (vs base)." in head
    assert "infonce: nDCG@10 0.3890 → 0.3700" in head
    headings = re.findall(r"^## (.+)$", body, flags=re.M)
    assert headings[0] == "Per-query change" and headings[-1] == "Counts through every filter"
    assert headings.index("Per query type") < headings.index("Training") < headings.index(
        "Generated queries and the teacher's top passage") < headings.index("Recipe") < \
        headings.index("Stage times")


def test_examples_show_the_teachers_top_passage_and_the_recipe(tmp_path):
    data = collect(make_run_dir(tmp_path / "run"))
    assert {e["type"] for e in data["examples"]} == {"question", "claim", "keywords"}
    first = next(e for e in data["examples"] if e["query"] == "query 0")
    assert first["top passage"] == "d0" and first["passage"] == "Title 0. passage text 0"
    recipe = {r["what"]: r["value"] for r in data["recipe"]}
    assert recipe["student"] == "minilm" and recipe["mode"] == "query_only"
    assert recipe["objective"] == "1 × listwise" and recipe["mode (infonce)"] == "query_only"
    assert data["per_query"]["specialized"]["t1"] == 0.7


def test_delta_interval_covers_the_mean_change():
    from corpusfit.evaluate.significance import delta_ci

    a = {f"q{i}": 0.5 for i in range(40)}
    b = {f"q{i}": 0.5 + (0.1 if i % 4 else -0.05) for i in range(40)}
    low, high = delta_ci(a, b)
    assert 0 < low < 0.0625 < high < 0.1  # mean change 0.0625, clearly above zero
    assert delta_ci(a, a) == (0.0, 0.0)


def test_partial_run_gets_a_partial_report(tmp_path):
    run = tmp_path / "run"
    (run / "01-ingest").mkdir(parents=True)
    (run / "01-ingest" / "manifest.json").write_text('{"counts": {"passages": 4}}')
    info = write_report(run, run / "07-report")
    assert info["figures"] == 0
    md = (run / "07-report" / "report.md").read_text()
    assert "| 01-ingest | passages | 4 |" in md


def _check_report_module():
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "scripts" / "check_report.py"
    spec = importlib.util.spec_from_file_location("check_report", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path):
    check = _check_report_module()
    chromium = check.find_chromium()
    if chromium is None:
        pytest.skip("chromium not installed (Debian: apt-get install -y chromium)")
    run = make_run_dir(tmp_path / "run")
    write_report(run, run / "07-report")
    result = check.check_report(run / "07-report" / "report.html", tmp_path / "shot.png",
                                chromium)
    assert check.problems(result, min_images=6) == []
    assert result["images_total"] == 6
    assert (tmp_path / "shot.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.slow
def test_browser_check_catches_console_errors_and_broken_images(tmp_path):
    check = _check_report_module()
    chromium = check.find_chromium()
    if chromium is None:
        pytest.skip("chromium not installed (Debian: apt-get install -y chromium)")
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><img src="data:image/png;base64,AAAA">'
                    '<script>console.error("boom")</script></body></html>')
    bad = check.problems(check.check_report(page, tmp_path / "bad.png", chromium))
    assert any("boom" in b for b in bad)
    assert any("0 of 1 images" in b for b in bad)


def test_report_says_what_was_reused_and_what_was_new(tmp_path):
    run = make_run_dir(tmp_path / "run")
    _stage(run, "01-ingest", {"passages": 120, "sampled_kept": 8, "sampled_new": 2}, 1.0)
    _stage(run, "02-generate", {"accepted": 27, "rejected": 3, "new_records": 6, "stored": 1,
                                "asked": 7}, 30.0)
    _stage(run, "04-label", {"lists": 6, "pairs_scored": 40, "pairs_cached": 160}, 2.0)
    result = {"kept": "trained", "init": "previous", "base_dev_loss": 0.5,
              "previous_dev_loss": 0.45, "best_dev_loss": 0.4, "best_epoch": 1}
    _stage(run, "05-train", {"train_queries": 5, "init": "previous", "lists_new": 3,
                             "lists_replayed": 2, "lists_left_out": 6, "result": result}, 9.0)
    write_report(run, run / "07-report", title="demo")
    md = (run / "07-report" / "report.md").read_text()
    table = md.split("## What was reused and what was new", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| 0")]
    assert [r.split(" | ")[0] for r in rows] == ["| 01-ingest", "| 02-generate", "| 02-generate",
                                                 "| 04-label", "| 05-train"]
    assert rows[0].endswith("| 8 | 2 |") and rows[1].endswith("| 24 | 6 |")
    assert "completion store" in rows[2] and rows[2].endswith("| 1 | 7 |")
    assert rows[3].endswith("| 160 | 40 |")
    assert "previous model, 6 learned lists left out" in rows[4]
    assert rows[4].endswith("| 2 | 3 |")
    assert "The never-worse guard kept the model trained from the previous one (dev loss " \
           "0.4000 vs base 0.5000, previous 0.4500)" in md
