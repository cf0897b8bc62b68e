"""One CLI vocabulary: help for every flag, old spellings as aliases, stage names as typed,
-q/-v anywhere, and -q hiding progress bars."""

from __future__ import annotations

import argparse
import json

import pytest

from corpusfit.cli import COMMANDS, build_parser, main


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_flag_of_every_subcommand_has_help_text():
    subs = _subparsers(build_parser())
    assert set(subs) == set(COMMANDS)
    missing = []
    for name, sub in subs.items():
        visible = {a.dest for a in sub._actions if a.help is not argparse.SUPPRESS}
        for action in sub._actions:
            if action.help is argparse.SUPPRESS:  # an old spelling: must alias a visible flag
                assert action.dest in visible, f"{name}: hidden {action.option_strings}"
            elif not (action.help or "").strip():
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


# The same concept has the same flag in every subcommand that has it.
SAME_NAME = {"--out": {"ingest", "generate", "mine", "label", "train", "eval", "export",
                       "report"},
             "--corpus": {"init", "ingest", "generate", "mine", "label", "train", "export"}}


@pytest.mark.parametrize("flag", sorted(SAME_NAME))
def test_one_spelling_for_one_concept(flag):
    subs = _subparsers(build_parser())
    having = {n for n, s in subs.items()
              if any(flag in a.option_strings and a.help is not argparse.SUPPRESS
                     for a in s._actions)}
    assert having == SAME_NAME[flag]
    for name, sub in subs.items():  # the old spellings are never documented
        shown = [o for a in sub._actions if a.help is not argparse.SUPPRESS
                 for o in a.option_strings]
        assert "--output" not in shown and "--data" not in shown, name


@pytest.mark.parametrize("argv, dest, value", [
    (["ingest", "--data", "c", "--output", "o"], "corpus", "c"),
    (["ingest", "--data", "c", "--output", "o"], "out", "o"),
    (["generate", "--data", "c", "--out", "o", "--limit", "5"], "sample", 5),
    (["mine", "--queries", "q", "--corpus", "c", "--output", "o", "--heldout", "h"],
     "heldout_file", "h"),
    (["label", "--candidates", "x", "--corpus", "c", "--output", "o", "--depth", "40",
      "--cache-dir", "s"], "score_depth", 40),
    (["label", "--candidates", "x", "--corpus", "c", "--output", "o", "--cache-dir", "s"],
     "score_cache", "s"),
    (["eval", "--data", "t", "--retriever", "bm25", "--output", "o"], "test_data", "t"),
    (["eval", "--data", "t", "--retriever", "bm25", "--output", "o"], "out", "o"),
])
def test_old_spellings_still_work_with_a_warning(argv, dest, value, capsys):
    args = build_parser().parse_args(argv)
    assert getattr(args, dest) == value
    assert "is now --" in capsys.readouterr().err


def test_new_spellings_and_the_distinct_depths():
    parser = build_parser()
    label = parser.parse_args(["label", "--candidates", "x", "--corpus", "c", "--out", "o",
                               "--score-depth", "40", "--score-cache", "s"])
    assert (label.score_depth, label.score_cache) == (40, "s")
    mine = parser.parse_args(["mine", "--queries", "q", "--corpus", "c", "--out", "o",
                              "--depth", "50", "--retriever", "bm25", "--retriever", "minilm"])
    assert mine.depth == 50 and mine.retrievers == ["bm25", "minilm"]
    ev = parser.parse_args(["eval", "--test-data", "t", "--retriever", "bm25", "--depth", "200"])
    assert ev.depth == 200 and ev.out is None
    with pytest.raises(SystemExit):  # a required flag stays required under its new name
        parser.parse_args(["ingest", "--out", "o"])


def test_flags_from_config_fields_carry_description_and_default():
    from corpusfit.retrieve.mine import MineConfig

    sub = _subparsers(build_parser())["mine"]
    depth = next(a for a in sub._actions if "--depth" in a.option_strings)
    assert depth.help.startswith(MineConfig.model_fields["depth"].description)
    assert f"(default: {MineConfig().depth})" in depth.help
    label = _subparsers(build_parser())["label"]
    normalize = next(a for a in label._actions if "--normalize-over" in a.option_strings)
    assert set(normalize.choices) == {"all_scored", "kept_lists"}


def test_label_flags_reach_the_config():
    from corpusfit.cli.label import label_config_from_args

    args = build_parser().parse_args(["label", "--candidates", "x", "--corpus", "c", "--out",
                                      "o", "--score-depth", "40", "--min-top-percentile", "-1",
                                      "--no-source-first", "--teacher", "bm25"])
    config = label_config_from_args(args)
    assert config.score_depth == 40 and config.min_top_percentile is None
    assert config.require_source_first is False and config.teacher.kind == "bm25"


@pytest.mark.parametrize("typed", ["eval", "evaluate", "EVAL", "06-evaluate"])
def test_until_takes_stage_names_as_typed(typed):
    args = build_parser().parse_args(["run", "c.yaml", "--until", typed])
    assert args.until == "evaluate"


def test_force_keeps_a_variant_and_unknown_stages_are_usage_errors(capsys):
    parser = build_parser()
    args = parser.parse_args(["run", "c.yaml", "--force", "05-train-infonce", "--force", "eval"])
    assert args.force == ["train-infonce", "evaluate"]
    with pytest.raises(SystemExit) as e:
        parser.parse_args(["run", "c.yaml", "--until", "evaluation-x"])
    assert e.value.code == 2
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "c.yaml", "--until", "fit"])
    assert "unknown stage 'fit'" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["-q", "init", "x.yaml"], ["init", "x.yaml", "-q"],
                                  ["init", "-q", "x.yaml"], ["init", "x.yaml", "--quiet"]])
def test_quiet_before_or_after_the_subcommand(argv):
    assert build_parser().parse_args(argv).quiet is True


def test_verbose_and_debug_anywhere():
    parser = build_parser()
    assert parser.parse_args(["init", "x.yaml", "-v"]).verbose is True
    assert parser.parse_args(["-v", "init", "x.yaml"]).verbose is True
    assert parser.parse_args(["init", "x.yaml", "--debug"]).debug is True
    assert parser.parse_args(["init", "x.yaml"]).quiet is False


def _eval(tiny_beir, tiny_bert, out, *extra):
    return main(["eval", "--test-data", str(tiny_beir), "--retriever", str(tiny_bert),
                 "--out", str(out), *extra])


def test_quiet_after_the_subcommand_hides_progress_bars(tiny_beir, tiny_bert, tmp_path,
                                                        capsys, caplog, monkeypatch):
    import logging

    from corpusfit.retrieve import progress

    # Off a terminal a bar is written as log lines; log every bar, however short.
    monkeypatch.setattr(progress, "LOG_EVERY", 0.0)
    with caplog.at_level(logging.INFO):
        assert _eval(tiny_beir, tiny_bert, tmp_path / "loud") == 0
    assert any("encode" in r.getMessage() for r in caplog.records)  # the bar, without -q
    caplog.clear()
    capsys.readouterr()
    with caplog.at_level(logging.INFO):
        assert _eval(tiny_beir, tiny_bert, tmp_path / "quiet", "-q") == 0
    captured = capsys.readouterr()
    assert not any("encode" in r.getMessage() and "tok" in r.getMessage()
                   for r in caplog.records)
    assert "encode" not in captured.err and "it/s" not in captured.err
    assert "nDCG@10" in captured.out  # the results are still printed
    metrics = json.loads((tmp_path / "quiet" / "metrics.json").read_text())
    assert (tmp_path / "quiet" / "per_query.json").is_file() and metrics["retrievers"]


def test_quiet_is_undone_after_the_command(tiny_beir, tiny_bert, tmp_path):
    import tqdm
    from transformers.utils import logging as hf_logging

    assert _eval(tiny_beir, tiny_bert, tmp_path / "o", "-q") == 0
    # tqdm's __init__ may be a partialmethod (a new object at every access): check behaviour
    assert not tqdm.tqdm(total=1, disable=False).disable
    assert hf_logging.is_progress_bar_enabled()
