"""Credentials never reach a file: secret-named keys, URL passwords and bearer tokens masked.

Applied to everything a run writes about its settings (the ``config.yaml`` copy,
manifests) and to log lines. Masking is by shape, not by a list of known fields, so a
header under ``backend.options.extra_headers`` is caught as well as ``api_key``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "***"

# Normalized key (lower case, no - or _) containing one of these names a credential.
_SECRET_PARTS = ("password", "passwd", "secret", "authorization", "apikey", "accesstoken",
                 "authtoken", "bearer", "credential", "cookie", "privatekey", "sessiontoken",
                 "refreshtoken", "hftoken", "apitoken")
_SECRET_NAMES = {"key", "token", "auth", "pwd", "pass"}

_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s:]*(?::[^/@\s]*)?@")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
_QUERY = re.compile(r"(?i)([?&](?:[a-z0-9_-]*(?:key|token|secret|password|sig|signature))=)"
                    r"[^&\s#]+")


def is_secret_key(name: str) -> bool:
    """True for keys like ``api_key``, ``Authorization``, ``X-API-Key``, ``hf_token``.

    Keys ending in ``_env`` name an environment variable, not its value, and are kept.
    """
    norm = re.sub(r"[-_\s]", "", name.lower())
    if name.lower().endswith("_env"):
        return False
    return norm in _SECRET_NAMES or any(part in norm for part in _SECRET_PARTS)


def mask_text(text: str) -> str:
    """``http://user:pw@host`` -> ``http://***@host``; bearer tokens and secret URL params."""
    text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _QUERY.sub(lambda m: f"{m.group(1)}{MASK}", text)


def mask_secrets(obj: Any) -> Any:
    """A copy of JSON-like ``obj`` with secret-named values and credentials in text masked."""
    if isinstance(obj, dict):
        return {k: MASK if isinstance(k, str) and is_secret_key(k) and v not in (None, "")
                else mask_secrets(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [mask_secrets(x) for x in obj]
    if isinstance(obj, str):
        return mask_text(obj)
    return obj


class MaskingFilter(logging.Filter):
    """Mask credentials in every record a handler writes (console and ``run.log``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def mask_log_handlers(logger: logging.Logger | None = None) -> None:
    """Add :class:`MaskingFilter` to each handler of ``logger`` (default: the root)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
