"""Keep personal data and secrets out of log lines and error messages.

`redact(text)` masks, in this order:
- the secrets in use, wherever they appear (`register_secret`: the secret key, the SMTP password,
  the extra Apprise URLs, database passwords; `install` registers them from the settings);
- passwords in URLs (`mailtos://user:***@host`, `postgresql://forloeb:***@db`) and secret query
  parameters (`?pass=***`, `token=***`);
- API tokens (`flb_abcdefgh…`, the prefix the token list shows);
- link tokens in paths (`/k/***`, `/a/***`, `/evaluering/***`, `/netvaerk/***`) and anything shaped
  like a signed token (itsdangerous links, the session cookie: `xxx.yyy.zzz`), `Authorization`
  header values and `session=` cookie values;
- e-mail addresses (`k***@kommune.dk`: the domain stays, it says which municipality);
- CPR numbers (`XXXXXX-XXXX`, `core.cpr`).

`install()` makes every log record in the process go through it (a log record factory, so it
covers every logger and handler, Prefect's API log handler and uvicorn's access log included) and
keeps SQLAlchemy's statement log off even when the root logger is at DEBUG (it would print
parameters: answers, names, e-mails). The dashboard, the runner and the CLI call it at start.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Mapping
from typing import Any

from core.cpr import mask_cpr

MASK = "***"
_secrets: tuple[str, ...] = ()
"""Longest first, so a secret that contains another is masked whole."""
_installed = False

_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@?#]*:)[^\s@/]+(?=@)")
_QUERY_SECRET = re.compile(
    r"([?&;](?:pass|password|passwd|pwd|secret|token|apikey|api_key|key|access_token)=)[^&\s#\"']+",
    re.IGNORECASE,
)
_LINK_TOKEN = re.compile(r"(/(?:k|a|evaluering|netvaerk)/)[^\s/?#\"'<>]{16,}")
_API_TOKEN = re.compile(r"\b(flb_[A-Za-z0-9_-]{8})[A-Za-z0-9_-]{12,}")
"""An API token (`services.api_tokens`) keeps its listed prefix, as in the token list."""
_SIGNED_TOKEN = re.compile(
    r"(?<![\w.-])[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}\.(?=[a-z_-]*[0-9A-Z])[A-Za-z0-9_-]{16,}(?![\w-])"
)
"""payload.timestamp.signature (itsdangerous, Starlette's session cookie); a dotted Python name
has no digit or capital in its last part and stays."""
_HEADER_SECRET = re.compile(
    r"((?:authorization|x-api-key)[\"']?\s*[:=]\s*[\"']?(?:basic |bearer |token )?)[^\s\"',]+", re.IGNORECASE
)
IDS = re.compile(
    r"(\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b|\b[0-9a-f]{24,}\b)"
)
"""UUIDs (Prefect's run ids) and long hex strings (uids, hashes), kept as they are."""
_SIX_DIGITS = re.compile(r"\d\d[.-]?\d\d[.-]?\d\d")
_COOKIE = re.compile(r"(\b(?:forloeb_)?session=)[^;\s\"']+")
_EMAIL = re.compile(
    r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b"
)


def register_secret(value: str | None) -> None:
    """Mask `value` wherever it appears in a log line or error message from now on."""
    global _secrets
    if value and len(value) >= 6 and value not in _secrets:
        _secrets = tuple(sorted((*_secrets, value), key=len, reverse=True))


def redact(text: str) -> str:
    """`text` without secrets, link tokens, e-mail addresses and CPR numbers. Each pattern runs only
    when a cheap test says it could match: this runs for every log record."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    if "@" in text:
        if "://" in text:
            text = _URL_PASSWORD.sub(rf"\1{MASK}", text)
        text = _EMAIL.sub(rf"\1{MASK}@\2", text)
    if "=" in text:
        text = _QUERY_SECRET.sub(rf"\1{MASK}", text)
        if "session=" in text:
            text = _COOKIE.sub(rf"\1{MASK}", text)
    if "/" in text:
        text = _LINK_TOKEN.sub(rf"\1{MASK}", text)
    if "flb_" in text:
        text = _API_TOKEN.sub("\\1…", text)
    if text.count(".") >= 2:
        text = _SIGNED_TOKEN.sub(MASK, text)
    lowered = text.lower()
    if "authorization" in lowered or "api-key" in lowered:
        text = _HEADER_SECRET.sub(rf"\1{MASK}", text)
    if not _SIX_DIGITS.search(text):
        return text
    # Ten digits inside a run id or a hash are not a CPR number: masking them would only garble ids.
    return "".join(part if i % 2 else mask_cpr(part) for i, part in enumerate(IDS.split(text)))


def _redact_arg(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def redact_record(record: logging.LogRecord) -> None:
    """Mask `record` in place. Its arguments are masked one by one where that is enough (formatters
    such as uvicorn's access log read them); otherwise the message is formatted and masked whole."""
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    if isinstance(record.args, Mapping):
        record.args = {k: _redact_arg(v) for k, v in record.args.items()}
    elif isinstance(record.args, tuple):
        record.args = tuple(_redact_arg(a) for a in record.args)
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it when the record is emitted
        message = None
    if message is not None:
        masked = redact(message)
        if masked != message:  # an argument that is not a string carried it (an exception, a URL)
            record.msg, record.args = masked, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_text = redact(text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _register_from_settings() -> None:
    from urllib.parse import unquote, urlsplit

    from core.settings import get_settings

    settings = get_settings()
    for url in (settings.smtp_url, settings.database_url, settings.postgres_url):
        if url:
            parts = urlsplit(url)
            register_secret(unquote(parts.password) if parts.password else None)
    for url in settings.notify_urls:  # a webhook's address is its secret
        register_secret(url)
        register_secret(url.split("://", 1)[-1])
        for segment in re.split(r"[/?&=:@]", url.split("://", 1)[-1]):
            if len(segment) >= 12:
                register_secret(segment)
    from core.links import existing_secret_key

    register_secret(existing_secret_key())


def install() -> None:
    """Mask every log record of this process from now on (idempotent)."""
    global _installed
    _register_from_settings()
    for name in ("sqlalchemy.engine", "sqlalchemy.pool", "sqlalchemy.orm"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
