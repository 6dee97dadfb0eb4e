"""The only module that calls Apprise.

`send_message` raises `SendError` unless Apprise's `notify()` returned exactly True (it returns
False or None on failure and only logs why; the log lines are captured into the error, masked by
`core.redact`). Mail to an SMTP server that is not on this machine goes only over TLS
(`smtp_problem`), unless FORLOEB_SMTP_ALLOW_PLAIN says plain SMTP is meant.
"""

from __future__ import annotations

import ipaddress
import mimetypes
from typing import Any
from urllib.parse import quote

import apprise
from apprise.attachment.memory import AttachMemory

from core.redact import redact
from core.settings import get_settings

# Apprise checks an attachment's MIME type against the `mimetypes` tables. Their lazy first load
# is not thread-safe (`inited` is set before /etc/mime.types is read), so in the runner's worker
# threads an invitation's text/calendar was once refused as invalid. Load them once, here.
mimetypes.init()


class SendError(Exception):
    """A message could not be delivered; `str(err)` says why (for the outbox row)."""


def mail_url(recipient: str) -> str:
    base = get_settings().smtp_url
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}to={quote(recipient, safe='@')}"


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _plain_remote(plugin: Any, allow_plain: bool) -> str | None:
    """Why this Apprise mail plugin may not send, or None: plain SMTP to a host that is not this
    machine, unless allowed. What counts is what Apprise will do (`secure_mode` after it applied
    `mailtos://`, `?mode=` and its provider templates), not how the URL looks."""
    secure_mode = getattr(plugin, "secure_mode", None)
    host = str(getattr(plugin, "smtp_host", "") or getattr(plugin, "host", "") or "")
    if secure_mode in ("ssl", "starttls") or allow_plain or _is_loopback(host):
        return None
    return (
        f"FORLOEB_SMTP_URL sender mail til {host} uden kryptering (TLS). Brug mailtos:// (STARTTLS; "
        "?mode=ssl for SMTPS), eller sæt FORLOEB_SMTP_ALLOW_PLAIN=1, hvis ukrypteret SMTP er et bevidst "
        f"valg. / Mail to the remote SMTP server {host} requires TLS: use mailtos:// or set "
        "FORLOEB_SMTP_ALLOW_PLAIN=1."
    )


def smtp_problem(url: str | None = None, *, allow_plain: bool | None = None) -> str | None:
    """What is wrong with the mail settings (Danish / English), or None: checked when the runner
    starts, by `forloeb doctor` and before every mail."""
    settings = get_settings()
    url = settings.smtp_url if url is None else url
    allow = settings.smtp_allow_plain if allow_plain is None else allow_plain
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ("mailto", "mailtos"):
        return f"FORLOEB_SMTP_URL skal være en mailto:// eller mailtos:// adresse, ikke {scheme}://."
    separator = "&" if "?" in url else "?"
    plugin = apprise.Apprise.instantiate(f"{url}{separator}to=test@example.invalid")
    if plugin is None:
        return f"FORLOEB_SMTP_URL kan ikke bruges af Apprise ({redact(url)})."
    return _plain_remote(plugin, allow)


def channel_url(recipient: str) -> str:
    """`kanal-N` names the N-th URL in FORLOEB_NOTIFY_URLS (the URL itself holds secrets)."""
    urls = get_settings().notify_urls
    try:
        index = int(recipient.removeprefix("kanal-")) - 1
        if index < 0:
            raise ValueError(recipient)
        return urls[index]
    except (ValueError, IndexError):
        raise SendError(f"{recipient} er ikke konfigureret i FORLOEB_NOTIFY_URLS") from None


def send_message(
    *, channel: str, recipient: str, subject: str, text: str, html: str, ics: str | None = None
) -> None:
    url = mail_url(recipient) if channel == "mail" else channel_url(recipient)
    sender = apprise.Apprise()
    if not sender.add(url):
        raise SendError(f"ugyldig Apprise-URL for {channel} ({url.split('://')[0]}://...)")
    if channel == "mail":
        refused = _plain_remote(sender[0], get_settings().smtp_allow_plain)
        if refused:  # never a silent plain-text send
            raise SendError(refused)
    attach = None
    if ics is not None and channel == "mail":
        attach = apprise.AppriseAttachment()
        attach.add(AttachMemory(content=ics, name="invitation.ics", mimetype="text/calendar"))
    is_html = channel == "mail" and bool(html)
    with apprise.LogCapture(level=apprise.logging.DEBUG, fmt="%(levelname)s %(message)s") as log:
        ok = sender.notify(
            title=subject,
            body=html if is_html else text,
            body_format=apprise.NotifyFormat.HTML if is_html else apprise.NotifyFormat.TEXT,
            attach=attach,
        )
        captured = log.getvalue().splitlines()
    if ok is not True:
        why = [
            line.split(" ", 1)[1] for line in captured if line.startswith("WARNING") or "Exception" in line
        ]
        raise SendError(redact("; ".join(why))[:1000] or f"Apprise returnerede {ok!r}")
