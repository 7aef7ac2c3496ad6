"""The homepage: a FastAPI app over the sync engine (`create_app`), with sign-in and a JSON API.

See docs/web-design.md.  Importing this package builds nothing.
"""

from __future__ import annotations

from central365.web.app import create_app

__all__ = ["create_app"]
