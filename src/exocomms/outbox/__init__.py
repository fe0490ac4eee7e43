"""Outgoing webhooks, stored with the state change that causes them and delivered by a job.

Producers call :func:`exocomms.outbox.service.add_message` inside their transaction; the
``outbox.deliver`` job (:mod:`exocomms.outbox.jobs`) signs and POSTs it until acknowledged.
"""
