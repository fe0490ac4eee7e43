"""Provider-neutral telephony: call flows (:mod:`.callflow`) and the provider port (:mod:`.port`).

Only :mod:`exocomms.telephony.exotel` knows Exotel's wire formats.
"""
