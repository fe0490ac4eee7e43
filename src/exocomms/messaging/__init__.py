"""Messaging: SMS (DLT templates) and WhatsApp through Exotel, with delivery status and replies."""
