"""Encryption at rest for merchants' LINE credentials (Fernet, with key rotation).

MERCHANT_KEYS_SECRET holds one or more comma-separated secrets, newest first.
Each secret is stretched into a Fernet key with HKDF, so any long random string
works. New values are encrypted with the first; every listed one decrypts, so
a key is rotated by putting the new secret first, running
`flask --app bot merchant rekey`, then dropping the old secret.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["InvalidToken", "Keyring", "mask"]


def _fernet(secret: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"samachik merchant credentials"
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


class Keyring:
    """Encrypts with the newest secret, decrypts with any listed one."""

    def __init__(self, secrets: str):
        parts = [part.strip() for part in secrets.split(",") if part.strip()]
        if not parts:
            raise ValueError("MERCHANT_KEYS_SECRET is empty")
        self._keys = MultiFernet([_fernet(part) for part in parts])

    def encrypt(self, value: str) -> str:
        return self._keys.encrypt(value.encode()).decode()

    def decrypt(self, value: str) -> str:
        return self._keys.decrypt(value.encode()).decode()

    def rotate(self, value: str) -> str:
        """The same plaintext, re-encrypted with the newest secret."""
        return self._keys.rotate(value.encode()).decode()


def mask(value: str) -> str:
    """Enough of a credential to tell two apart, never enough to use it."""
    return f"…{value[-4:]}" if len(value) > 12 else "…"
