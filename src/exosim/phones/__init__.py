"""Virtual phones: scripted callers and callees that answer, press keys and hang up."""
