"""IVRs as data (:mod:`.flows`, :mod:`.model`), the pure engine (:mod:`.engine`) and natural
speech of numbers (:mod:`.speech`).
"""
