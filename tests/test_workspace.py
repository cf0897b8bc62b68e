import json

from corpusfit.workspace import JsonlAppender, atomic_path, iter_jsonl_tolerant, write_json


def test_atomic_path_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "f.json"
    write_json(target, {"v": 1})
    try:
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("crash")
    except RuntimeError:
        pass
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_appender_repairs_torn_tail(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"i": 0}\n{"i": 1}\n{"i": 2, "tor')
    assert [r["i"] for r in iter_jsonl_tolerant(path)] == [0, 1]
    with JsonlAppender(path) as app:
        app.add({"i": 2})
    assert [r["i"] for r in iter_jsonl_tolerant(path)] == [0, 1, 2]
