"""The pipeline config: one clear error (exit 2) per bad key/value, overrides, init."""

from __future__ import annotations

import pytest
import yaml

from corpusfit.cli import main as cli_main
from corpusfit.config import load_config, pipeline_config_class, variant_train_config
from corpusfit.config_docs import init_text, reference_markdown
from corpusfit.errors import ConfigError


def write(tmp_path, text: str):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def run_cli(args, capsys) -> tuple[int, str]:
    code = cli_main(args)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("body, message", [
    ("ingest:\n  sampel: 5\n", "unknown key 'ingest.sampel'"),
    ("ingest:\n  sample: lots\n", "bad value for 'ingest.sample'"),
    ("ingest:\n  sample: 0\n", "bad value for 'ingest.sample'"),
    ("colour: red\n", "unknown key 'colour'"),
])
def test_bad_config_is_one_message_and_exit_2(tmp_path, tiny_beir, capsys, body, message):
    path = write(tmp_path, f"corpus: {tiny_beir}\n{body}")
    code, err = run_cli(["run", str(path), "--run-dir", str(tmp_path / "run")], capsys)
    assert code == 2
    assert message in err
    assert err.count("corpusfit: error:") == 1
    assert "Traceback" not in err
    assert not (tmp_path / "run").exists()  # nothing ran


def test_missing_corpus_is_a_clear_error(tmp_path, capsys):
    path = write(tmp_path, f"corpus: {tmp_path / 'nope'}\n")
    code, err = run_cli(["run", str(path)], capsys)
    assert code == 2
    assert f"bad value for 'corpus': corpus not found: {tmp_path / 'nope'}" in err


def test_no_corpus_key_is_a_clear_error(tmp_path, capsys):
    code, err = run_cli(["run", str(write(tmp_path, "ingest: {}\n"))], capsys)
    assert code == 2
    assert "missing required key 'corpus'" in err


def test_yaml_syntax_error_names_file_and_line(tmp_path, capsys):
    path = write(tmp_path, "corpus: x\ningest:\n  sample: [1, 2\n")
    code, err = run_cli(["run", str(path)], capsys)
    assert code == 2
    assert f"{path}:" in err and "invalid YAML" in err


def test_missing_config_file(tmp_path, capsys):
    code, err = run_cli(["run", str(tmp_path / "none.yaml")], capsys)
    assert code == 2 and "config file not found" in err


def test_dotted_overrides_are_typed_and_validated(tmp_path, tiny_beir):
    path = write(tmp_path, f"corpus: {tiny_beir}\ningest:\n  sample: 3\n")
    cfg = load_config(path, ["ingest.sample=7", "ingest.dedup=false", "evaluate.depth=200"])
    assert cfg.ingest.sample == 7 and cfg.ingest.dedup is False
    assert cfg.evaluate.depth == 200
    with pytest.raises(ConfigError, match="unknown key 'ingest.nope'"):
        load_config(path, ["ingest.nope=1"])
    with pytest.raises(ConfigError, match="bad value for 'evaluate.depth'"):
        load_config(path, ["evaluate.depth=ten"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_config(path, ["ingest.sample"])
    with pytest.raises(ConfigError, match="'ingest.sample' is a value, not a section"):
        load_config(path, ["ingest.sample.x=1"])


def test_override_of_float_in_scientific_notation(tmp_path, tiny_beir):
    cfg = load_config(write(tmp_path, f"corpus: {tiny_beir}\n"), ["train.lr=1e-4"])
    assert cfg.train.lr == pytest.approx(1e-4)


def test_init_writes_a_commented_config_that_loads_to_the_defaults(tmp_path, tiny_beir, capsys):
    out = tmp_path / "new.yaml"
    assert cli_main(["init", str(out), "--corpus", str(tiny_beir)]) == 0
    text = out.read_text()
    assert "# the corpus to specialize on" in text
    assert text.count("\n# ") > 5
    cfg = load_config(out)
    defaults = pipeline_config_class().model_validate({"corpus": tiny_beir})
    assert cfg.model_dump() == defaults.model_dump()
    assert cli_main(["init", str(out)]) == 2  # refuses to overwrite
    assert "exists" in capsys.readouterr().err


def test_init_without_corpus_fails_clearly_when_run(tmp_path):
    path = write(tmp_path, init_text())
    with pytest.raises(ConfigError, match="corpus"):
        load_config(path)


def test_every_section_is_in_the_reference():
    ref = reference_markdown()
    for section in pipeline_config_class().model_fields:
        assert f"`{section}" in ref
    for junk in ("Union[", "Optional[", "Annotated", "Strict(", "NoneType", "FieldInfo"):
        assert junk not in ref  # types read as "int or {auto} or null"
    assert "| `train.epochs` | int or {auto} |" in ref


def test_variants_replace_the_objective_and_validate(tmp_path, tiny_beir):
    base = f"corpus: {tiny_beir}\ntrain:\n  epochs: 2\n"
    cfg = load_config(write(tmp_path, base + "variants:\n  infonce:\n"
                                             "    objective: {infonce: 1.0}\n"))
    v = variant_train_config(cfg, "infonce")
    assert v.objective == {"infonce": 1.0}  # replaced, not merged into listwise + infonce
    assert v.epochs == 2  # everything else inherited
    with pytest.raises(ConfigError, match="variants.bad: unknown key 'lrr'"):
        load_config(write(tmp_path, base + "variants:\n  bad: {lrr: 1}\n"))


def test_resolved_config_round_trips(tmp_path, tiny_beir):
    from corpusfit.config import dump_config

    cfg = load_config(write(tmp_path, f"corpus: {tiny_beir}\n"), ["ingest.sample=4"])
    again = pipeline_config_class().model_validate(yaml.safe_load(dump_config(cfg)))
    assert again == cfg


def test_saved_config_masks_secrets(tmp_path, tiny_beir):
    from corpusfit.config import dump_config

    cfg = load_config(write(tmp_path, f"corpus: {tiny_beir}\n"),
                      ["generate.backend.name=openai", "generate.backend.api_key=sk-secret"])
    text = dump_config(cfg)
    assert "sk-secret" not in text and "api_key: '***'" in text


def test_every_stage_section_is_in_the_root_model():
    from corpusfit.config import STAGE_SECTIONS

    assert list(STAGE_SECTIONS) == [n for n in pipeline_config_class().model_fields
                                    if n in STAGE_SECTIONS]


def test_union_sections_are_documented_with_their_choices():
    ref = reference_markdown()
    assert "| `label.teacher` | one of kind = cross-encoder, t5, llm-judge" in ref
    assert "`label.teacher.members`" in ref and "`generate.backend.n_ctx`" in ref
    text = init_text()
    assert "# one of name = llama-cpp, transformers, openai, vllm" in text
    assert "- {kind: dense, model: minilm}" in text  # member defaults left out
