"""One module per schema revision, oldest first (the revision ids say the order)."""
