"""`python -m forloeb` is the `forloeb` command."""

from forloeb.cli import main

main()
