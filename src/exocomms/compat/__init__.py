"""Thin aliases for paths the platform's existing callers use (PRODUCT.md §12)."""
