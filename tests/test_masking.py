"""Credentials never reach a written file: config copy, manifests, logs."""

from __future__ import annotations

import json
import logging

from corpusfit.config import dump_config, load_config
from corpusfit.masking import MaskingFilter, is_secret_key, mask_secrets, mask_text
from corpusfit.workspace import write_manifest

SECRETS = ("hunter2", "sk-live-123456", "xyz-987654", "tok-555555")


def _config(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"_id": "1", "text": "x"}\n')
    return load_config(None, [
        "generate.backend.name=openai",
        "generate.backend.base_url=http://alice:hunter2@llm.local:8000/v1",
        "generate.backend.api_key=sk-live-123456",
        "generate.backend.options={extra_headers: {Authorization: Bearer tok-555555, "
        "X-API-Key: xyz-987654, Accept: text/plain}}",
    ], base={"corpus": str(corpus)})


def test_config_copy_masks_url_password_headers_and_keys(tmp_path):
    text = dump_config(_config(tmp_path))
    assert not any(s in text for s in SECRETS)
    assert "http://***@llm.local:8000/v1" in text and "text/plain" in text


def test_manifest_masks_credentials(tmp_path):
    config = _config(tmp_path).generate.model_dump(mode="json")
    write_manifest(tmp_path / "stage", {"config_hash": "x"}, config)
    text = (tmp_path / "stage" / "manifest.json").read_text()
    assert not any(s in text for s in SECRETS)
    assert json.loads(text)["config"]["backend"]["options"]["extra_headers"]["Accept"] == \
        "text/plain"


def test_log_lines_are_masked(tmp_path):
    path = tmp_path / "run.log"
    handler = logging.FileHandler(path)
    handler.addFilter(MaskingFilter())
    log = logging.getLogger("corpusfit.test_masking")
    log.addHandler(handler)
    try:
        log.warning("cannot reach %s (header Authorization: Bearer %s)",
                    "https://bob:hunter2@host/v1?api_key=xyz-987654", "tok-555555")
    finally:
        log.removeHandler(handler)
        handler.close()
    text = path.read_text()
    assert not any(s in text for s in SECRETS) and "https://***@host/v1" in text


def test_secret_names_by_shape_not_by_list():
    assert all(is_secret_key(k) for k in ("api_key", "Authorization", "X-API-Key", "hf_token",
                                          "password", "client_secret", "token", "key"))
    assert not any(is_secret_key(k) for k in ("api_key_env", "max_new_tokens", "yes_token",
                                              "rank_token", "base_url", "model"))
    assert mask_secrets({"api_key": None, "n": 3}) == {"api_key": None, "n": 3}
    assert mask_text("no secrets in http://host:8000/v1") == "no secrets in http://host:8000/v1"
