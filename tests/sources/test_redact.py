"""mask_secrets: no password of a URL survives, in user info or in the query, alone or in prose."""

from __future__ import annotations

from io import StringIO
from urllib.parse import quote

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from central365.cli.app import Context, fail
from central365.core.errors import SourceError
from central365.sources.redact import MASK, mask_secrets

SCHEMES = st.sampled_from(
    ["postgresql+psycopg", "postgresql", "mysql+pymysql", "mariadb", "mssql+pyodbc", "oracle"]
)
#: Names, hosts and databases in lower case, so an upper-case marker can only be a password.
WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
HOSTS = st.one_of(
    st.builds(lambda a, b: f"{a}.{b}", WORDS, WORDS), st.just("127.0.0.1"), st.just("[::1]")
)
PORTS = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))
SECRET_KEYS = st.sampled_from(
    ["password", "PWD", "passwd", "sslpassword", "client_secret", "token", "api_key", "Secret"]
)
#: Any password a person could type (no line break): raw `@`, `/`, `?`, `:`, `#`, quotes …
RAW_PASSWORDS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Zl", "Zp", "Cc")), min_size=1, max_size=20
).map(lambda p: "P" + p.replace(" ", "").replace("\t", ""))


@given(SCHEMES, WORDS, RAW_PASSWORDS, HOSTS, PORTS, WORDS)
def test_a_raw_password_in_the_user_info_is_masked(
    scheme: str, user: str, password: str, host: str, port: str, database: str
) -> None:
    url = f"{scheme}://{user}:{password}@{host}{port}/{database}"

    assert mask_secrets(url) == f"{scheme}://{user}:{MASK}@{host}{port}/{database}"


@given(SCHEMES, WORDS, RAW_PASSWORDS, HOSTS, WORDS, SECRET_KEYS, RAW_PASSWORDS, WORDS)
def test_passwords_in_user_info_and_query_are_masked_even_in_prose(
    scheme: str,
    user: str,
    password: str,
    host: str,
    database: str,
    key: str,
    query_password: str,
    other: str,
) -> None:
    encoded = quote(query_password, safe="")  # a query value is percent-encoded by definition
    url = f"{scheme}://{user}:{password}@{host}/{database}?sslmode={other}&{key}={encoded}"
    message = f"cannot connect to {url}: the server said no (user {user})"

    masked = mask_secrets(message)

    assert password not in masked and encoded not in masked
    assert f"{key}={MASK}" in masked and f"sslmode={other}" in masked
    assert masked.startswith(f"cannot connect to {scheme}://{user}:{MASK}@{host}/{database}?")
    assert masked.endswith(f": the server said no (user {user})")


@given(SCHEMES, WORDS, HOSTS, SECRET_KEYS, RAW_PASSWORDS)
def test_masking_is_idempotent(scheme: str, user: str, host: str, key: str, password: str) -> None:
    url = f"{scheme}://{user}:{password}@{host}/db?{key}={quote(password, safe='')}"

    assert mask_secrets(mask_secrets(url)) == mask_secrets(url)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://u:pa ss@host/db", "postgresql://u:***@host/db"),
        ("postgresql://u:p@ss@host/db", "postgresql://u:***@host/db"),
        (
            "postgresql://u@host/db?password=x&sslmode=require",
            "postgresql://u@host/db?password=***&sslmode=require",
        ),
        (
            "mssql+pyodbc://h/db?odbc_connect=DRIVER%3Dx%3BPWD%3Dsecret%3BUID%3Du",
            "mssql+pyodbc://h/db?odbc_connect=DRIVER%3Dx%3BPWD%3D***%3BUID%3Du",
        ),
        ("Driver={x};Server=h;Pwd=secret;Uid=u", "Driver={x};Server=h;Pwd=***;Uid=u"),
        ("sslpassword='two words' sslmode=require", "sslpassword='***' sslmode=require"),
        ("postgresql://u@host/db", "postgresql://u@host/db"),
        ("csv:/srv/exports/passwords.csv", "csv:/srv/exports/passwords.csv"),
        ("sqlite:///central.db", "sqlite:///central.db"),
        ("password=", "password="),
    ],
)
def test_examples(text: str, expected: str) -> None:
    assert mask_secrets(text) == expected


def test_the_cli_prints_errors_with_their_passwords_masked() -> None:
    err = StringIO()
    ctx = Context(False, None, Console(file=StringIO()), Console(file=err, width=400))
    url = "postgresql+psycopg://central:hunter2@db.example/crm?sslpassword=Key-Pass-9"
    error = SourceError(f"Cannot read {url}", problems=[f"driver said: password=hunter2 for {url}"])

    with pytest.raises(typer.Exit):
        fail(ctx, error)

    printed = err.getvalue()
    assert "hunter2" not in printed and "Key-Pass-9" not in printed
    assert "postgresql+psycopg://central:***@db.example/crm?sslpassword=***" in printed
