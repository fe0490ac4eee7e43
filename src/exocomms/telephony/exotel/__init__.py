"""Exotel adapter: applet answers (:mod:`.applets`), ExoML (:mod:`.exoml`), flow blueprints
(:mod:`.blueprint`) and, later, the REST client and webhooks. The only code that knows Exotel's
wire formats (see ``EXOTEL.md`` §2–§3).
"""
