"""Both fronts' settings become the same `Connection`; the credential is read in one place."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from central365.appdb import AppSettings, AuthChoice, User
from central365.config import Settings
from central365.core.errors import ConfigError
from central365.graph import ClientCredentialsAuth, DeviceCodeAuth, StaticTokenAuth
from central365.wiring.connection import Central, Credential, SignIn, SignInMode
from central365.wiring.settings import connection_from_app, connection_from_settings, target_of
from central365.wiring.sign_in import msal_credential, sign_in_auth

ALICE = User(id=1, oid="oid-a", tenant_id="t", name="Alice", username="alice@contoso.test")


def _pem() -> tuple[str, str]:
    """A private key and its self-signed certificate, as PEM; and the key alone."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "central365 test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key_pem + certificate.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def test_the_command_line_settings_become_a_connection(tmp_path: Path) -> None:
    settings = Settings(
        central="csv:contacts.csv",
        central_table="people",
        central_mapping=tmp_path / "map.toml",
        mailbox="shared@contoso.test",
        folder="CRM",
        auth=SignInMode.APP,
        tenant_id="contoso.test",
        client_id="cid",
        client_secret=SecretStr("s3cret"),
        ca_bundle=tmp_path / "ca.pem",
        timeout=12.0,
        run_deadline=60.0,
    )
    connection = connection_from_settings(settings)
    assert connection.central == Central("csv:contacts.csv", "people", tmp_path / "map.toml")
    assert connection.sign_in.mode is SignInMode.APP
    assert connection.sign_in.tenant == "contoso.test"
    assert connection.sign_in.credential.secret == "s3cret"
    assert (connection.mailbox, connection.mailbox_label, connection.folder) == (
        "shared@contoso.test",
        "shared@contoso.test",
        "CRM",
    )
    assert (connection.timeout, connection.run_deadline) == (12.0, 60.0)
    assert connection.verify == str(tmp_path / "ca.pem")
    assert "s3cret" not in repr(connection)
    assert connection_from_settings(Settings()).central is None  # `folders` needs none


def test_the_homepage_settings_become_a_connection_for_the_person() -> None:
    start_up = Settings(graph_url="http://graph.test/v1.0", timeout=5.0)
    app = AppSettings(
        folder_name="CRM",
        central_url="sqlite:///central.db",
        central_table="",
        column_mapping={"email": "mail"},
        tenant_id="contoso.test",
        client_id="cid",
        target_mailbox="shared@contoso.test",
    )
    delegated = connection_from_app(start_up, app, target_of(app, ALICE))
    assert (delegated.mailbox, delegated.mailbox_label) == ("me", "alice@contoso.test")
    assert delegated.central == Central(
        "sqlite:///central.db", "contacts", mapping={"email": "mail"}
    )
    assert delegated.sign_in.mode is None  # the homepage brings the person's token
    assert (delegated.graph_url, delegated.timeout) == ("http://graph.test/v1.0", 5.0)
    app_only = AppSettings(**{**app.__dict__, "auth_mode": AuthChoice.APP_ONLY})
    shared = connection_from_app(start_up, app_only, target_of(app_only, ALICE))
    assert (shared.mailbox, shared.mailbox_label) == ("shared@contoso.test", "shared@contoso.test")
    with pytest.raises(ConfigError, match="App-only mode needs a target mailbox"):
        target_of(AppSettings(**{**app_only.__dict__, "target_mailbox": None}), ALICE)


def test_a_certificate_wins_over_a_secret_and_its_thumbprint_is_computed(tmp_path: Path) -> None:
    pem, _ = _pem()
    stored = msal_credential(Credential(secret="s", certificate_pem=pem))
    assert isinstance(stored, dict) and len(stored["thumbprint"]) == 40
    path = tmp_path / "app.pem"
    path.write_text(pem, encoding="ascii")
    from_file = msal_credential(Credential(secret="s", certificate_file=path, password="pw"))
    assert from_file == {**stored, "passphrase": "pw"}
    assert msal_credential(Credential(certificate_file=tmp_path / "app.pfx")) == {
        "private_key_pfx_path": str(tmp_path / "app.pfx")
    }
    assert msal_credential(Credential(secret="s")) == "s"


def test_a_certificate_problem_says_where_to_fix_it(tmp_path: Path) -> None:
    _, key_only = _pem()
    with pytest.raises(ConfigError, match="paste the private key and the certificate together"):
        msal_credential(Credential(certificate_pem=key_only))
    path = tmp_path / "key.pem"
    path.write_text(key_only, encoding="ascii")
    with pytest.raises(ConfigError, match="CENTRAL365_CLIENT_CERTIFICATE_THUMBPRINT"):
        msal_credential(Credential(certificate_file=path))
    with pytest.raises(ConfigError, match="cannot be read as PEM"):
        msal_credential(Credential(certificate_file=tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="sign-in needs one"):
        msal_credential(Credential())


def test_each_command_line_mode_has_its_token_provider(tmp_path: Path) -> None:
    sandbox = SignIn(SignInMode.SANDBOX, static_token="t0k3n")
    assert isinstance(sign_in_auth(sandbox, print), StaticTokenAuth)
    app = SignIn(SignInMode.APP, "contoso.test", "cid", Credential(secret="s"))
    assert isinstance(sign_in_auth(app, print), ClientCredentialsAuth)
    device = SignIn(SignInMode.DEVICE, client_id="cid", token_cache=tmp_path / "c.json")
    assert isinstance(sign_in_auth(device, print), DeviceCodeAuth)
    with pytest.raises(ConfigError, match="no sign-in of its own"):
        sign_in_auth(SignIn(None, client_id="cid"), print)
