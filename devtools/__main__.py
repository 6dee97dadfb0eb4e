"""`uv run python -m devtools demo|mailbox [N]`."""

from devtools.commands import app

app()
