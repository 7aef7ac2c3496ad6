"""The RSA key the sandbox signs tokens with, its JWKS, and checks of client certificates.

One `SigningKey` per sandbox run, made on first use (an RSA key takes a moment to generate, and
most in-process test apps never issue a token).  `load_or_create(path)` keeps it in a PEM file
(mode 0600) so tokens and refresh tokens survive a restart of a sandbox with a state file.

Client assertions (msal's certificate credential) are verified here too: the certificate is
found by the thumbprint msal puts in the JWT header (`x5t` = SHA-1, `x5t#S256` = SHA-256) among
the app's registered PEM certificates, and the signature must verify with its public key.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

#: What the sandbox signs with; what it accepts from clients' certificate assertions.
TOKEN_ALGORITHM = "RS256"
ASSERTION_ALGORITHMS = ("RS256", "PS256")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint_b64url(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class SigningKey:
    """An RSA private key with its key id (`kid`, as Entra's: base64url of a SHA-1 digest)."""

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self._private = private_key
        self._public = private_key.public_key()
        der = self._public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = b64url(hashlib.sha1(der, usedforsecurity=False).digest())

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the sandbox signing key must be an RSA key")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """The key in `path`, or a new one written there (0600, atomically)."""
        if path.exists():
            return cls.from_pem(path.read_bytes())
        key = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.private_pem())
        os.replace(temporary, path)
        return key

    def private_pem(self) -> bytes:
        return self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def jwk(self) -> dict[str, str]:
        numbers = self._public.public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": TOKEN_ALGORITHM,
            "kid": self.kid,
            "n": _uint_b64url(numbers.n),
            "e": _uint_b64url(numbers.e),
        }

    def sign(self, claims: Mapping[str, Any]) -> str:
        return jwt.encode(
            dict(claims),
            self._private,
            algorithm=TOKEN_ALGORITHM,
            headers={"kid": self.kid, "typ": "JWT"},
        )

    def verify(self, token: str, *, audience: str | Iterable[str], now: float) -> dict[str, Any]:
        """The claims of a token this key signed; raises `jwt.InvalidTokenError` otherwise.

        Times are checked against `now` (the sandbox's clock, epoch seconds): `exp` is
        required, `jwt.ExpiredSignatureError` (a subclass) means expired.
        """
        header = jwt.get_unverified_header(token)
        if header.get("kid") != self.kid:
            raise jwt.InvalidSignatureError("the token was not signed by this sandbox")
        claims: dict[str, Any] = jwt.decode(
            token,
            self._public,
            algorithms=[TOKEN_ALGORITHM],
            audience=list([audience] if isinstance(audience, str) else audience),
            options={
                "require": ["exp", "iat"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        expires, not_before = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(expires, int | float) or not isinstance(not_before, int | float):
            raise jwt.InvalidTokenError("exp and nbf must be numbers")
        if now >= expires:
            raise jwt.ExpiredSignatureError("Signature has expired")
        if now < not_before:
            raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
        return claims


class LazySigningKey:
    """Makes (or loads) the key on first use; thread-safe.  `path` None keeps it in memory."""

    def __init__(self, path: Path | None = None, key: SigningKey | None = None) -> None:
        self._path = path
        self._key = key
        self._lock = threading.Lock()

    def get(self) -> SigningKey:
        with self._lock:
            if self._key is None:
                self._key = (
                    SigningKey.load_or_create(self._path)
                    if self._path is not None
                    else SigningKey.generate()
                )
            return self._key


@dataclass(frozen=True)
class ClientCertificate:
    """A registered certificate, indexed by the thumbprints msal puts in assertion headers."""

    x5t: str
    x5t_s256: str
    public_key: PublicKeyTypes

    @classmethod
    def from_pem(cls, pem: str) -> ClientCertificate:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
        return cls(
            x5t=b64url(cert.fingerprint(hashes.SHA1())),  # x5t is SHA-1 by spec
            x5t_s256=b64url(cert.fingerprint(hashes.SHA256())),
            public_key=cert.public_key(),
        )


def verify_client_assertion(
    assertion: str, certificates: Iterable[str], *, client_id: str, audiences: Iterable[str]
) -> str | None:
    """None when `assertion` is a valid client assertion for `client_id`, else the reason.

    Valid: signed (RS256/PS256) by the key of one of `certificates` (PEM), the one its `x5t` /
    `x5t#S256` header names; `iss` = `sub` = `client_id`; `aud` one of `audiences`; not expired.
    """
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.InvalidTokenError:
        return "The client assertion is not a well-formed JWT."
    wanted = {
        str(header.get("x5t", "")).rstrip("="),
        str(header.get("x5t#S256", "")).rstrip("="),
    } - {""}
    if not wanted:
        return "The client assertion's header names no certificate (x5t or x5t#S256)."
    match: ClientCertificate | None = None
    for pem in certificates:
        try:
            cert = ClientCertificate.from_pem(pem)
        except ValueError:
            continue
        if {cert.x5t, cert.x5t_s256} & wanted:
            match = cert
            break
    if match is None:
        return "The certificate with the client assertion's thumbprint is not registered."
    try:
        claims = jwt.decode(
            assertion,
            match.public_key,  # type: ignore[arg-type]
            algorithms=list(ASSERTION_ALGORITHMS),
            audience=list(audiences),
            issuer=client_id,
            options={"require": ["exp", "aud", "iss", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        return "The client assertion has expired."
    except jwt.InvalidAudienceError:
        return "The client assertion's audience is not this token endpoint."
    except jwt.InvalidTokenError as exc:
        return f"The client assertion is not valid: {exc}."
    if claims.get("sub") != client_id:
        return "The client assertion's subject is not the client id."
    return None
