"""App push through FCM HTTP v1 (``push_provider=fcm``), beside the commerce backend's webhook.

``fcm.py`` is the FCM client (service-account OAuth, ``messages:send``, error mapping),
``service.py`` queues pushes in the caller's transaction, ``jobs.py`` sends them.
"""
