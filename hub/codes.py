"""Employee codes (社員コード / スタッフコード) as the hub compares them."""

from __future__ import annotations

import unicodedata


def normalize_code(code: str | None) -> str:
    """NFKC and trimmed, so full-width 'Ｐ１００１ ' equals 'P1001'; case and zeros are kept as typed."""
    return unicodedata.normalize("NFKC", code or "").strip()
