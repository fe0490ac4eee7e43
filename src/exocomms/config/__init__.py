"""Run-time configuration stored in the database, encrypted credentials, feature flags."""
