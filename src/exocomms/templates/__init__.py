"""Call-script templates per purpose, in Hindi and English."""
