"""exocomms."""
