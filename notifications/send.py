"""The only module that calls Apprise.

`send_message` raises `SendError` unless Apprise's `notify()` returned exactly True (it returns
False or None on failure and only logs why; the log lines are captured into the error).
"""

from __future__ import annotations

import mimetypes
from urllib.parse import quote

import apprise
from apprise.attachment.memory import AttachMemory

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
        raise SendError("; ".join(why)[:1000] or f"Apprise returnerede {ok!r}")
