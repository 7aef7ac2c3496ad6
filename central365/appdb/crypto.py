"""Encryption at rest for what the application database must not hold in the clear.

`SecretBox` seals client secrets, certificates, the Central URL (it may carry a database
password), msal token caches and web-session data with Fernet (AES-128-CBC + HMAC-SHA256, from
`cryptography`).  Its key comes from `CENTRAL365_SECRET_KEY` (any string: a Fernet key is derived
from it with HKDF/SHA-256) or, when that is not set, from the key file `data_dir/secret.key`,
created with mode 0600 on first use.  Losing or changing the key makes every sealed value
unreadable; `open` then raises a `ConfigError` that says so, instead of a cryptography error.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import time
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from central365.config import Settings, env_name
from central365.core.errors import ConfigError
from central365.private_files import private_folder

log = logging.getLogger(__name__)

KEY_FILE_NAME = "secret.key"
_HKDF_SALT = b"central365 application database"
_HKDF_INFO = b"central365 SecretBox v1"


def derive_key(secret: str) -> bytes:
    """A Fernet key (url-safe base64 of 32 bytes) derived from any non-empty string."""
    if not secret:
        raise ConfigError(f"{env_name('secret_key')} is empty: give a long random string.")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode("utf-8")))


def _as_fernet_key(text: str) -> bytes:
    """The text itself when it already is a Fernet key, otherwise a key derived from it."""
    candidate = text.strip().encode("ascii", errors="ignore")
    try:
        if len(base64.urlsafe_b64decode(candidate)) == 32 and len(candidate) == 44:
            return candidate
    except (binascii.Error, ValueError):
        pass
    return derive_key(text.strip())


def load_or_create_key_file(path: Path) -> bytes:
    """Read the key file, or create it (mode 0600, never overwriting) with a new random key."""
    private_folder(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    log.info("Created a new secret key file at %s.", path)
    return key


def _read_key_file(path: Path) -> bytes:
    # Another process may have just created the file and not written the key yet.
    for _ in range(20):
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"Cannot read the secret key file {path}: {exc.strerror}.",
                problems=[f"Make {path} readable, or set {env_name('secret_key')}."],
            ) from None
        if text:
            if path.stat().st_mode & 0o077:
                log.warning(
                    "The secret key file %s can be read by other users; make it mode 0600.", path
                )
            return _as_fernet_key(text)
        time.sleep(0.05)
    raise ConfigError(
        f"The secret key file {path} is empty.",
        problems=[f"Delete {path} to have a new key made (stored secrets are then lost)."],
    )


class SecretBox:
    """Seal and open short texts with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_secret(cls, secret: str) -> SecretBox:
        """A box whose key is derived from any string (HKDF/SHA-256)."""
        return cls(derive_key(secret))

    @classmethod
    def from_key_file(cls, path: Path) -> SecretBox:
        """A box whose key is kept in `path`, made (mode 0600) on first use."""
        return cls(load_or_create_key_file(path))

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """`CENTRAL365_SECRET_KEY` when set, otherwise the key file `data_dir/secret.key`."""
        if settings.secret_key is not None:
            return cls.from_secret(settings.secret_key.get_secret_value())
        return cls.from_key_file(settings.data_dir / KEY_FILE_NAME)

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        """The plain text; `ConfigError` when it was sealed with another key (or is damaged)."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise ConfigError(
                "The secret key has changed since the stored secrets were saved, so central365 "
                "cannot read them: enter the stored secrets again on the Settings page.",
                problems=[
                    f"Restore the previous {env_name('secret_key')} or {KEY_FILE_NAME} file to read "
                    "them again, or enter the Central connection, client secret and certificate "
                    "again."
                ],
            ) from None

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"
