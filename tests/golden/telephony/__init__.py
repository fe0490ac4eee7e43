"""Golden wire fixtures for telephony renderers and IVRs, and the helper that checks them.

Run the tests with ``EXOCOMMS_UPDATE_GOLDEN=1`` to (re)write the files, then review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parent


def assert_golden(name: str, actual: str | bytes) -> None:
    """Compare ``actual`` byte for byte with ``tests/golden/telephony/<name>``."""
    data = actual.encode("utf-8") if isinstance(actual, str) else actual
    path = GOLDEN_DIR / name
    if os.environ.get("EXOCOMMS_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    assert path.exists(), f"missing golden file {path}; run with EXOCOMMS_UPDATE_GOLDEN=1"
    expected = path.read_bytes()
    assert data == expected, (
        f"{name} differs from the golden file.\n--- expected\n{expected.decode('utf-8')}\n"
        f"--- actual\n{data.decode('utf-8')}\n(EXOCOMMS_UPDATE_GOLDEN=1 rewrites it)"
    )
