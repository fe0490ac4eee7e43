"""The call engine: runs calls over virtual phones, flows, recordings and status callbacks."""
