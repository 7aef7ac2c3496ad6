"""A client secret alone is allowed but warned about, on the Settings page and by the CLI."""

from __future__ import annotations

from pathlib import Path

from central365.wiring.connection import Credential, SignIn, SignInMode
from central365.wiring.sign_in import SECRET_WARNING, secret_warning
from tests.web.conftest import Web


def sign_in(mode: SignInMode, **credential: object) -> SignIn:
    return SignIn(mode=mode, tenant="t", client_id="c", credential=Credential(**credential))  # type: ignore[arg-type]


def test_only_a_secret_without_a_certificate_is_warned_about(tmp_path: Path) -> None:
    assert secret_warning(sign_in(SignInMode.APP, secret="s")) == SECRET_WARNING
    pfx = tmp_path / "app.pfx"
    assert secret_warning(sign_in(SignInMode.APP, secret="s", certificate_file=pfx)) is None
    assert secret_warning(sign_in(SignInMode.APP, certificate_pem="-----BEGIN")) is None
    assert secret_warning(sign_in(SignInMode.DEVICE, secret="s")) is None


def test_the_settings_page_warns_while_only_a_secret_is_stored(signed_in: Web) -> None:
    # The web tests' start-up settings seed a client secret and no certificate.
    warning = signed_in.soup("/settings").select_one("[data-secret-warning]")
    assert warning is not None and "a certificate is safer" in warning.get_text()
