"""The one place residents get their ``PiiCipher``.

Building a cipher derives two HKDF subkeys and keys an HMAC; that is worth doing
once per key, not once per registered resident.  The cache is keyed on the key
bytes rather than being a single global, because tests (and a key rotation in a
long-running shell) reset the settings: a new key must give a new cipher, never
the stale one.
"""

from __future__ import annotations

from functools import lru_cache

from yilian.core.config import get_settings
from yilian.core.pii import PiiCipher

__all__ = ["cipher"]


@lru_cache(maxsize=4)
def _cipher_for(key: bytes) -> PiiCipher:
    return PiiCipher(key)


def cipher() -> PiiCipher:
    """The cipher for the configured ``YILIAN_PII_KEY`` (generated into ``var/`` outside production)."""
    return _cipher_for(get_settings().pii())
