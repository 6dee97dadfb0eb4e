"""A local SMTP sink for `make run`: every mail lands in `<data dir>/mailbox/` as an .eml file
and as one log line. Read them with `forloeb dev-mailbox` (list) and `forloeb dev-mailbox N`.

aiosmtpd is a development dependency; without it `make run` says so and mail sending fails
visibly (the rows show as failed).
"""

from __future__ import annotations

from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from core.clock import now


class _Handler:
    def __init__(self, folder: Path, log: Callable[[str], None]) -> None:
        self.folder = folder
        self.log = log
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        raw: bytes = envelope.original_content
        stamp = now().strftime("%Y%m%dT%H%M%S%f")
        (self.folder / f"{stamp}-{self.count:04d}.eml").write_bytes(raw)
        subject = message_from_bytes(raw, policy=policy.default)["Subject"]
        self.log(f"Mail til {', '.join(envelope.rcpt_tos)}: {subject}")
        return "250 OK"


class DevMailbox:
    def __init__(
        self, host: str, port: int, folder: Path | None = None, log: Callable[[str], None] = print
    ) -> None:
        from core.settings import get_settings

        self.host, self.port = host, port
        self.folder = folder or get_settings().data_dir / "mailbox"
        self.log = log
        self._controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(_Handler(self.folder, self.log), hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
