"""``exocomms demo``: the whole system on loopback with a throwaway database."""
