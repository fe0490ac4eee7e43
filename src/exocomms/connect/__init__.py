"""Connecting people: masked-call routing, click-to-call and bridges, missed-call callbacks,
inbound IVR routing by caller identity."""
