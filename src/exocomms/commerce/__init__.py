"""The commerce backend ("Jupiter"), both ways.

- Inbound: signed webhooks ``POST /webhooks/jupiter/{event}`` (:mod:`.webhooks`, :mod:`.api`)
  recorded once in ``commerce_events`` and published as domain events.
- Look-ups: :class:`~exocomms.commerce.client.CommerceClient` (``runtime.commerce``).
- Outbound: outcomes (:mod:`.outcomes`) and push requests (:mod:`.push`) through the outbox.
"""
