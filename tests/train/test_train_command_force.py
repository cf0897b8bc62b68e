"""`corpusfit train` skips an up-to-date model folder and `--force` trains it again."""

from __future__ import annotations

import json

from corpusfit.cli import main


def test_train_skips_when_up_to_date_and_force_retrains(tiny_bert, tiny_lists, tmp_path,
                                                        capsys):
    lists, corpus = tiny_lists
    out = tmp_path / "model"
    args = ["train", "--lists", str(lists), "--corpus", str(corpus), "--student",
            str(tiny_bert), "--out", str(out), "--epochs", "1", "--queries-per-step", "4"]
    assert main(args) == 0
    first = json.loads((out / ".pipeline.json").read_text())["run_id"]
    capsys.readouterr()
    assert main([*args, "--set", "device=cpu"]) == 0  # a runtime-only field: still up to date
    assert "up to date" in capsys.readouterr().out
    assert json.loads((out / ".pipeline.json").read_text())["run_id"] == first
    assert main([*args, "--force"]) == 0
    assert '"steps"' in capsys.readouterr().out
    assert json.loads((out / ".pipeline.json").read_text())["run_id"] != first
