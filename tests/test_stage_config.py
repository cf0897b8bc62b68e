"""One config path for every stage command: file (pipeline file or bare section), then
--set, then flags, then validation against the stage's class; presets are config values."""

from __future__ import annotations

import argparse

import pytest

from corpusfit.cli import build_parser
from corpusfit.cli.flags import stage_config
from corpusfit.config import load_config, load_section
from corpusfit.errors import ConfigError

STAGE_COMMANDS = {"ingest": "ingest", "generate": "generate", "mine": "mine", "label": "label",
                  "train": "train", "eval": "evaluate"}
REQUIRED = {"ingest": ["--corpus", "c", "--out", "o"], "generate": ["--ingest", "i", "--out", "o"],
            "mine": ["--queries", "q", "--corpus", "c", "--out", "o"],
            "label": ["--candidates", "x", "--corpus", "c", "--out", "o"],
            "train": ["--lists", "l", "--out", "o"],
            "eval": ["--test-data", "t", "--retriever", "bm25"]}


def _parse(command: str, *extra: str) -> argparse.Namespace:
    return build_parser().parse_args([command, *REQUIRED[command], *extra])


@pytest.mark.parametrize("command", sorted(STAGE_COMMANDS))
def test_every_stage_command_takes_config_set_and_force(command):
    args = _parse(command, "--config", "c.yaml", "--set", "seed=1", "--force")
    assert args.config == "c.yaml" and args.set == ["seed=1"] and args.force is True


def test_train_set_and_run_set_build_the_same_config(tmp_path, tiny_beir):
    path = tmp_path / "pipeline.yaml"
    path.write_text(f"corpus: {tiny_beir}\ntrain:\n  epochs: 2\n")
    via_train = stage_config(_parse("train", "--config", str(path), "--set", "lr=3e-5",
                                    "--set", "loss.infonce_temperature=0.03"), "train")
    via_run = load_config(path, ["train.lr=3e-5", "train.loss.infonce_temperature=0.03"]).train
    assert via_train == via_run
    assert (via_train.lr, via_train.epochs, via_train.loss.infonce_temperature) == (3e-5, 2, 0.03)


def test_a_bare_section_file_and_the_pipeline_spelling_of_set(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("epochs: 3\nseed: 5\n")
    config = stage_config(_parse("train", "--config", str(path), "--set", "train.seed=7"),
                          "train")
    assert (config.epochs, config.seed) == (3, 7)


def test_flags_win_over_set_and_set_over_the_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("mine: {depth: 40, rrf_k: 10}\ncorpus: x\n")
    config = stage_config(_parse("mine", "--config", str(path), "--set", "depth=50",
                                 "--set", "rrf_k=20", "--depth", "60"), "mine")
    assert (config.depth, config.rrf_k) == (60, 20)


def test_nested_flags_set_their_dotted_keys():
    config = stage_config(_parse("generate", "--threads", "3", "--temperature", "0.5",
                                 "--types", "question,title"), "generate")
    assert config.backend.n_threads == 3 and config.sampling.temperature == 0.5
    assert config.types == ["question", "title"]


def test_a_teacher_preset_is_a_config_value_in_yaml_and_on_the_command_line(tmp_path):
    path = tmp_path / "label.yaml"
    path.write_text("label:\n  teacher: offline-ql\n")
    from_yaml = stage_config(_parse("label", "--config", str(path)), "label")
    from_flag = stage_config(_parse("label", "--teacher", "offline-ql"), "label")
    assert from_yaml.teacher == from_flag.teacher
    assert [m.kind for m in from_flag.teacher.members] == ["dense", "bm25", "query-likelihood"]
    kind = stage_config(_parse("label", "--teacher", "dense", "--teacher-model", "minilm"),
                        "label")
    assert kind.teacher.kind == "dense" and kind.teacher.model == "minilm"


def test_a_bad_key_names_the_section_and_the_file(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("train: {epochz: 2}\n")
    with pytest.raises(ConfigError, match=r"t.yaml: .*unknown key 'train.epochz'"):
        load_section("train", path)
    with pytest.raises(ConfigError, match="unknown key 'ingest.sampel'"):
        load_section("ingest", overrides=["sampel=3"])
