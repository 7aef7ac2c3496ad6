"""Passwords out of anything shown: a URL's `user:password@` and its secret-looking parameters.

`mask_secrets` is the one function every edge uses before it shows a URL or a message that may
hold one: the Settings page, the API's and the pages' errors, the CLI's errors and the sources'
own messages.  It works on free text, so a driver's message echoing a connection string is
masked too.  It errs on the side of hiding more:

- `scheme://user:password@host`: everything from `user:` to the *last* `@` of the word is the
  password (SQLAlchemy reads a raw `/`, `?` or `:` there as part of it; a raw `@` is a typo
  that would otherwise leak what follows it).  A text that is one URL and nothing else may
  even have spaces in its password.
- `password=…`, `pwd=…`, `passwd=…`, `sslpassword=…`, `client_secret=…`, `token=…`,
  `api_key=…` and any other key containing those words, in a query string, an ODBC string
  (`PWD=…;`) or prose; also with a percent-encoded `=` (`%3D`), as inside `odbc_connect=`.

Must not: parse or validate URLs (that is SQLAlchemy's job); it only ever replaces text by
`MASK`, so a masked URL is still recognisably the same URL.
"""

from __future__ import annotations

import re

MASK = "***"

#: Only ASCII white space ends a word: a password may hold a no-break space or the like.
_SPACE = r"[ \t\r\n\f\v]"
_WORD_CHAR = r"[^ \t\r\n\f\v]"
_SCHEME = r"(?:[A-Za-z][A-Za-z0-9+.\-]*)?://"  # the scheme may be missing or mistyped
_USER = r"[^:/@ \t\r\n\f\v]*"
#: In free text the password runs to the last `@` of the same word.
_USERINFO_IN_TEXT = re.compile(rf"(?P<head>{_SCHEME}{_USER}:)(?P<secret>{_WORD_CHAR}*)@")
#: A text that is one URL: the password runs to the last `@` of the line.
_ONE_URL = re.compile(
    rf"^(?P<lead>{_SPACE}*)(?P<head>{_SCHEME}{_USER}:)(?P<secret>[^\n]*)@"
    rf"(?P<rest>{_WORD_CHAR}*{_SPACE}*)$"
)
_SECRET_WORDS = r"(?:password|passwd|pwd|secret|token|api_?key|credential)"
_NAME_CHAR = r"[A-Za-z0-9_.\-]"
_SECRET_PARAMETER = re.compile(
    rf"(?<!{_NAME_CHAR})(?P<key>{_NAME_CHAR}*{_SECRET_WORDS}{_NAME_CHAR}*)"
    rf"(?P<equals>{_SPACE}*(?:=|%3[dD]){_SPACE}*)"
    # A value ends at a separator, or before punctuation that ends the sentence around it.
    rf"(?P<value>'[^']*'|\"[^\"]*\"|(?:(?!%26|%3[bB])[^&;#'\" \t\r\n\f\v])+?)"
    rf"(?=[&;#'\"]|%26|%3[bB]|[:,.)]?(?:{_SPACE}|$))",
    re.IGNORECASE,
)


def _mask_parameter(match: re.Match[str]) -> str:
    value = match["value"]
    quote = value[0] if value[0] in "'\"" else ""
    return f"{match['key']}{match['equals']}{quote}{MASK}{quote}"


def mask_secrets(text: str) -> str:
    """`text` with every URL password and secret-looking parameter value replaced by `MASK`."""
    one = _ONE_URL.match(text)
    if one is not None:
        text = f"{one['lead']}{one['head']}{MASK}@{one['rest']}"
    else:
        text = _USERINFO_IN_TEXT.sub(lambda m: f"{m['head']}{MASK}@", text)
    return _SECRET_PARAMETER.sub(_mask_parameter, text)
