"""Keyed hashing and encryption of personal identifiers (resident ID numbers first).

ID numbers are never stored in clear (ARCHITECTURE.md).  Each is stored twice:

* a **lookup hash**, HMAC-SHA256 under a derived key: deterministic, so it can
  carry a unique index and find a resident from a typed number, yet useless to
  anyone without the key (a plain SHA-256 of an 18-digit number with a known
  structure is brute-forced in minutes);
* an **encrypted value**, AES-256-GCM with a random nonce, for authorised display.

Both subkeys come from one master key (``YILIAN_PII_KEY``) through HKDF with
distinct labels, so one secret travels with the database and a leak of one
subkey reveals nothing about the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import unicodedata
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from yilian.core.errors import ConfigurationError, DomainError

__all__ = [
    "KEY_BYTES",
    "MIN_KEY_BYTES",
    "PiiCipher",
    "PiiDecryptionError",
    "load_or_create_key",
    "normalise_identifier",
]

#: Size of a generated master key and of each derived subkey (AES-256, HMAC-SHA256).
KEY_BYTES: Final = 32
#: 128 bits of entropy is enough input for HKDF; ``Settings.pii()`` accepts hex keys
#: from 32 hex characters up, which decode to 16 bytes.
MIN_KEY_BYTES: Final = 16
_LOOKUP_INFO: Final = b"yilian-lookup"
_ENCRYPT_INFO: Final = b"yilian-encrypt"
_VERSION: Final = "v1"
_PREFIX: Final = _VERSION + ":"
# The version label is authenticated with the ciphertext, so a token cannot be
# relabelled to a future format and decrypted under that format's rules.
_AAD: Final = b"yilian-pii:" + _VERSION.encode()
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16


class PiiDecryptionError(DomainError):
    """A stored token that cannot be read: altered, truncated, or made under another key.

    It is an operator's problem, not the user's (HTTP 500): the usual cause is a
    database moved without its ``var/`` key file or a changed ``YILIAN_PII_KEY``.
    """

    http_status = 500
    exit_code = 7
    default_code = "pii_decrypt_failed"


def normalise_identifier(value: str) -> str:
    """The form that is hashed: NFKC (full-width digits → ASCII), trimmed, upper case.

    ``11010519491231002x`` typed with a Chinese input method and the stored
    ``11010519491231002X`` must give the same hash, or the resident is not found.
    """
    return unicodedata.normalize("NFKC", value).strip().upper()


def _derive(master: bytes, info: bytes) -> bytes:
    # No salt: the master key is uniformly random (RFC 5869 §3.1), and a salt would
    # be one more secret that has to travel with the database.
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(master)


class PiiCipher:
    """Lookup hashes and encryption under one master key."""

    __slots__ = ("_aead", "_hmac")

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ConfigurationError(
                f"YILIAN_PII_KEY 太短：至少需要{MIN_KEY_BYTES}字节"
                f"（{2 * MIN_KEY_BYTES}个十六进制字符）的随机密钥",
                code="pii_key_too_short",
            )
        # The keyed HMAC state is built once and copied per value: bulk generation
        # hashes about a million ID numbers, and .copy() skips re-keying each time.
        self._hmac = hmac.new(_derive(key, _LOOKUP_INFO), digestmod=hashlib.sha256)
        self._aead = AESGCM(_derive(key, _ENCRYPT_INFO))

    def lookup_hash(self, value: str) -> str:
        """Deterministic HMAC-SHA256 (64 hex characters) of the normalised value."""
        mac = self._hmac.copy()
        mac.update(normalise_identifier(value).encode())
        return mac.hexdigest()

    def encrypt(self, value: str) -> str:
        """``v1:<base64url(nonce ‖ ciphertext ‖ tag)>``; a fresh random nonce each call.

        Random 96-bit nonces stay safe for about 2**32 encryptions per key, far
        above a province's residents.
        """
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, value.encode(), _AAD)
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")

    def decrypt(self, token: str) -> str:
        """The value sealed in ``token``; ``PiiDecryptionError`` when it cannot be trusted."""
        if not token.startswith(_PREFIX):
            raise PiiDecryptionError("无法解密：密文格式或版本不被支持", code="pii_token_malformed")
        body = token[len(_PREFIX) :]
        try:
            # validate=True: a stray character is an error, not silently skipped.
            raw = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
        except ValueError:  # binascii.Error, or text that is not ASCII
            raise PiiDecryptionError("无法解密：密文不是有效的编码", code="pii_token_malformed") from None
        if len(raw) < _NONCE_BYTES + _TAG_BYTES:
            raise PiiDecryptionError("无法解密：密文长度不足，可能已被截断", code="pii_token_malformed")
        try:
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _AAD)
        except InvalidTag:
            raise PiiDecryptionError(
                "无法解密：密文已被篡改，或 YILIAN_PII_KEY 与加密时使用的密钥不同", code="pii_decrypt_failed"
            ) from None
        return plain.decode()


def load_or_create_key(path: Path) -> bytes:
    """The 32-byte master key kept at ``path``, created (mode 0600) when missing.

    The file holds the key as 64 hex characters, the form ``YILIAN_PII_KEY``
    takes, so moving a demo database to a server is ``YILIAN_PII_KEY=$(cat …)``
    with the same key.  A file of exactly 32 raw bytes is read as well.

    Creation is atomic and never overwrites: the key is written to a private
    temporary file and hard-linked into place, so two processes starting at once
    (web workers, a CLI command) agree on one key and nobody reads a half-written
    file.  Replacing this file makes every stored ID number unreadable and
    unfindable, hence a refusal, not a regeneration, when the file is damaged.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            # The umask only ever removes bits from 0o600; set the mode exactly anyway.
            os.fchmod(fd, 0o600)
            fh.write(secrets.token_hex(KEY_BYTES) + "\n")
            fh.flush()
            os.fsync(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race: use its key
        finally:
            tmp.unlink()
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    data = path.read_bytes()
    if len(data) == KEY_BYTES:
        return data
    try:
        key = bytes.fromhex(data.decode("ascii").strip())
    except ValueError:  # UnicodeDecodeError is a ValueError too
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigurationError(
            f"PII 密钥文件 {path} 已损坏：应为{2 * KEY_BYTES}个十六进制字符。"
            "切勿删除后重新生成，否则已存的身份证号码将无法查找和解密；请从备份恢复",
            code="pii_key_file_invalid",
        )
    return key
