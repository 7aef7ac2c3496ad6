"""HTTPS for the sandbox: a local certificate authority and a server certificate it signs.

msal only talks to `https://` authorities, so the identity platform needs TLS; the app is told
to trust the CA file (`CENTRAL365_CA_BUNDLE=<dir>/sandbox-ca.pem`, or a requests session with
`verify=<that path>`), never to switch verification off.

Files in the TLS directory:

    sandbox-ca.pem           the CA certificate: what clients trust
    sandbox-ca-key.pem       its private key (0600), kept so the CA survives restarts
    sandbox-server.pem       the server certificate + the CA (the chain uvicorn serves)
    sandbox-server-key.pem   the server's private key (0600)

The CA is reused while it is valid for another day and its name constraints cover the hosts
asked for, so a browser or OS that was told to trust it keeps trusting the sandbox.  The CA is
name-constrained to those hosts (by default `localhost`, 127.0.0.0/8 and ::1): trusting it does
not let it vouch for any other site.  The server certificate is issued afresh on every start.
Keys are ECDSA P-256 (fast to make, accepted by OpenSSL, browsers and requests).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "sandbox-ca.pem"
CA_KEY_FILE = "sandbox-ca-key.pem"
SERVER_CERT_FILE = "sandbox-server.pem"
SERVER_KEY_FILE = "sandbox-server-key.pem"
#: Always in the server certificate and the CA's constraints.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_CA_VALIDITY = dt.timedelta(days=3650)
_SERVER_VALIDITY = dt.timedelta(days=365)
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})

GeneralName = x509.DNSName | x509.IPAddress


@dataclass(frozen=True)
class TlsFiles:
    """Where the CA (to trust) and the server's certificate chain and key are."""

    ca_path: Path
    cert_path: Path
    key_path: Path


def ca_path_in(directory: Path) -> Path:
    """The CA file `ensure_tls_files(directory)` writes (to print before serving)."""
    return directory / CA_FILE


def _hosts(extra: Iterable[str]) -> list[str]:
    hosts = list(LOOPBACK_NAMES)
    for host in extra:
        host = host.strip("[]")
        if host not in _WILDCARD_HOSTS and host not in hosts:
            hosts.append(host)
    return hosts


def _san(host: str) -> GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _permitted(host: str) -> GeneralName:
    """The name-constraint subtree that admits `host` (loopback IPs as whole networks)."""
    if host == "127.0.0.1":
        return x509.IPAddress(ipaddress.ip_network("127.0.0.0/8"))
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return x509.DNSName(host)
    return x509.IPAddress(ipaddress.ip_network(f"{address}/{address.max_prefixlen}"))


def _write(path: Path, data: bytes, *, private: bool) -> None:
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _reusable_ca(
    directory: Path, hosts: Sequence[str]
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    cert_path, key_path = directory / CA_FILE, directory / CA_KEY_FILE
    if not (cert_path.exists() and key_path.exists()):
        return None
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        constraints = cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except (ValueError, x509.ExtensionNotFound):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if cert.not_valid_after_utc - _now() < dt.timedelta(days=1):
        return None
    permitted = set(constraints.permitted_subtrees or ())
    if not all(_permitted(h) in permitted for h in hosts):
        return None
    return cert, key


def _new_ca(hosts: Sequence[str]) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "central365 sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, "central365 sandbox local CA"),
        ]
    )
    now = _now()
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + _CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.NameConstraints(
                permitted_subtrees=[_permitted(h) for h in hosts], excluded_subtrees=None
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _server_cert(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    hosts: Sequence[str],
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    public = key.public_key()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "central365 sandbox"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "central365 sandbox server"),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(min(now + _SERVER_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def ensure_tls_files(directory: Path, hosts: Iterable[str] = ()) -> TlsFiles:
    """Make (or reuse) the CA in `directory` and issue a server certificate for `hosts`.

    The loopback names are always included; wildcard bind addresses (0.0.0.0) are skipped.
    """
    all_hosts = _hosts(hosts)
    directory.mkdir(parents=True, exist_ok=True)
    reused = _reusable_ca(directory, all_hosts)
    if reused is None:
        ca_cert, ca_key = _new_ca(all_hosts)
        _write(directory / CA_KEY_FILE, _key_pem(ca_key), private=True)
        _write(directory / CA_FILE, ca_cert.public_bytes(serialization.Encoding.PEM), private=False)
    else:
        ca_cert, ca_key = reused
    cert, key = _server_cert(ca_cert, ca_key, all_hosts)
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(
        serialization.Encoding.PEM
    )
    _write(directory / SERVER_KEY_FILE, _key_pem(key), private=True)
    _write(directory / SERVER_CERT_FILE, chain, private=False)
    return TlsFiles(
        ca_path=directory / CA_FILE,
        cert_path=directory / SERVER_CERT_FILE,
        key_path=directory / SERVER_KEY_FILE,
    )
