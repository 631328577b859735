"""Keyed lookup hash and authenticated encryption of personal identifiers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from yilian.core.errors import ConfigurationError
from yilian.core.pii import PiiCipher, PiiDecryptionError, load_or_create_key

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
ID = "11010519491231002X"

# Stored hashes and tokens must stay readable across releases: these were made by
# this code with KEY; a change to labels, normalisation or format breaks them.
PINNED_HASH = "2e00ca48dcb045cf94bb92ecd5efc48d526776b62cb516c2f94b0ce6a0f13a53"
PINNED_TOKEN = "v1:PPpZFAeg5u1a8CCS-NM_3ThRnLBz3i7ltS8o0TQa35KFpQX1lYbLqRnZL3IsbQ"


@pytest.fixture
def cipher() -> PiiCipher:
    return PiiCipher(KEY)


# --------------------------------------------------------------------------- encryption


@pytest.mark.parametrize("value", [ID, "", "张三明", "江苏省南京市玄武区某某路1号" * 5])
def test_encrypt_decrypt_round_trip(cipher: PiiCipher, value: str) -> None:
    assert cipher.decrypt(cipher.encrypt(value)) == value


def test_token_is_versioned_url_safe_and_fresh_each_time(cipher: PiiCipher) -> None:
    first, second = cipher.encrypt(ID), cipher.encrypt(ID)
    assert first.startswith("v1:") and second.startswith("v1:")
    assert first != second  # random nonce: equal values do not give equal tokens
    assert set(first[3:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert ID not in first


def test_pinned_token_still_decrypts() -> None:
    assert PiiCipher(KEY).decrypt(PINNED_TOKEN) == ID


def test_tampered_token_is_refused(cipher: PiiCipher) -> None:
    token = cipher.encrypt(ID)
    raw = bytearray(base64.urlsafe_b64decode(token[3:] + "=" * (-len(token[3:]) % 4)))
    for index in (0, 12, len(raw) - 1):  # nonce, ciphertext, tag
        altered = bytearray(raw)
        altered[index] ^= 0x01
        forged = "v1:" + base64.urlsafe_b64encode(bytes(altered)).rstrip(b"=").decode()
        with pytest.raises(PiiDecryptionError) as caught:
            cipher.decrypt(forged)
        assert caught.value.code == "pii_decrypt_failed"
        assert caught.value.http_status == 500


def test_token_from_another_key_is_refused(cipher: PiiCipher) -> None:
    with pytest.raises(PiiDecryptionError) as caught:
        PiiCipher(OTHER_KEY).decrypt(cipher.encrypt(ID))
    assert caught.value.code == "pii_decrypt_failed"
    assert "YILIAN_PII_KEY" in caught.value.message


@pytest.mark.parametrize(
    "token",
    ["", "v2:" + PINNED_TOKEN[3:], PINNED_TOKEN[3:], "v1:***not-base64***", "v1:AAAA", PINNED_TOKEN[:30]],
)
def test_malformed_token_is_refused(cipher: PiiCipher, token: str) -> None:
    with pytest.raises(PiiDecryptionError) as caught:
        cipher.decrypt(token)
    assert caught.value.code == "pii_token_malformed"


# --------------------------------------------------------------------------- lookup hash


def test_lookup_hash_is_deterministic_and_hex(cipher: PiiCipher) -> None:
    digest = cipher.lookup_hash(ID)
    assert digest == cipher.lookup_hash(ID) == PiiCipher(KEY).lookup_hash(ID)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest == PINNED_HASH


def test_lookup_hash_is_hmac_under_the_hkdf_lookup_subkey(cipher: PiiCipher) -> None:
    subkey = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"yilian-lookup").derive(KEY)
    assert cipher.lookup_hash(ID) == hmac.new(subkey, ID.encode(), hashlib.sha256).hexdigest()
    # Neither the bare value's hash nor an HMAC under the master key itself.
    assert cipher.lookup_hash(ID) != hashlib.sha256(ID.encode()).hexdigest()
    assert cipher.lookup_hash(ID) != hmac.new(KEY, ID.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    "typed", ["11010519491231002x", " 11010519491231002X ", "１１０１０５１９４９１２３１００２Ｘ"]
)
def test_lookup_hash_normalises_case_spaces_and_full_width(cipher: PiiCipher, typed: str) -> None:
    assert cipher.lookup_hash(typed) == cipher.lookup_hash(ID)


def test_lookup_hash_differs_between_keys_and_values(cipher: PiiCipher) -> None:
    assert PiiCipher(OTHER_KEY).lookup_hash(ID) != cipher.lookup_hash(ID)
    assert cipher.lookup_hash("320102199001011232") != cipher.lookup_hash(ID)


def test_copied_hmac_state_is_not_shared_between_calls(cipher: PiiCipher) -> None:
    first = cipher.lookup_hash("a")
    cipher.lookup_hash("b")
    assert cipher.lookup_hash("a") == first


def test_short_key_is_refused() -> None:
    with pytest.raises(ConfigurationError) as caught:
        PiiCipher(b"too short")
    assert caught.value.code == "pii_key_too_short"
    PiiCipher(bytes(16))  # 128 bits, what a 32-hex-character YILIAN_PII_KEY gives


# --------------------------------------------------------------------------- key file


def test_key_file_is_created_with_mode_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "nested" / "pii_key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == key.hex()
    assert load_or_create_key(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["pii_key"]  # no temporary file left


@pytest.mark.parametrize("umask", [0o000, 0o277])
def test_key_file_mode_is_0600_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "pii_key"
    old = os.umask(umask)
    try:
        key = load_or_create_key(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key


def test_each_new_key_file_gets_its_own_random_key(tmp_path: Path) -> None:
    assert load_or_create_key(tmp_path / "a") != load_or_create_key(tmp_path / "b")


def test_existing_key_file_is_never_replaced(tmp_path: Path) -> None:
    hex_file = tmp_path / "hex"
    hex_file.write_text(KEY.hex() + "\n")
    raw_file = tmp_path / "raw"
    raw_file.write_bytes(OTHER_KEY)
    assert load_or_create_key(hex_file) == KEY
    assert load_or_create_key(raw_file) == OTHER_KEY
    assert raw_file.read_bytes() == OTHER_KEY


@pytest.mark.parametrize("content", [b"", b"abc", b"zz" * 32, KEY.hex().encode()[:-2], bytes(33)])
def test_damaged_key_file_is_refused_not_regenerated(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "pii_key"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError) as caught:
        load_or_create_key(path)
    assert caught.value.code == "pii_key_file_invalid"
    assert path.read_bytes() == content
