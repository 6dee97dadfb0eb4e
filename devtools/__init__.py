"""Developer tools, not shipped in the wheel: the `make run` launcher, demo data, the dev
mailbox (SMTP sink) and the test machine set-up."""
