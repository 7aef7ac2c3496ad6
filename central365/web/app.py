"""`create_app`: the FastAPI application of the homepage, built from settings passed in.

Nothing is built at import time.  `create_app` wires routes, templates, static files, security
headers and the error translator; the lifespan opens the `Runtime` (migrate the database, mark
interrupted runs, seed the stored settings, start the run manager) and closes it at shutdown.
Tests and the demo inject the database, secret box, identity client, bearer verifier and the
Graph transport (the in-process sandbox).

FastAPI's /docs and /redoc are off (they load their assets from a CDN, which the CSP forbids);
the OpenAPI schema of the JSON API is at `/api/openapi.json`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp

from central365 import __version__
from central365.appdb import Database, SecretBox
from central365.config import Settings
from central365.engine.schedules import TargetJobs
from central365.web import api, failures
from central365.web.bearer import BearerVerifier
from central365.web.identity import IdentityClient
from central365.web.limits import UPLOAD_PREFIX, BodyLimit
from central365.web.pages import STATIC_DIR, build_templates
from central365.web.runtime import Injected, Runtime
from central365.web.security import SecurityHeaders
from central365.web.tenancy import tenancy_of
from central365.web.uploads import FRAMING_ALLOWANCE
from central365.web.views import (
    alerts_page,
    auth,
    guide,
    history,
    home,
    orphans,
    runs,
    schedules_page,
    settings_page,
)


class HomepageApp(FastAPI):
    """FastAPI with the security headers outside everything else.

    Middleware added with `add_middleware` runs inside Starlette's ServerErrorMiddleware, whose
    500 answer (for an error nobody expected) would then go out without them; wrapping the
    whole stack puts them on every answer.
    """

    hsts: bool = False

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack(), hsts=self.hsts)


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    secret_box: SecretBox | None = None,
    identity: IdentityClient | None = None,
    bearer: BearerVerifier | None = None,
    graph_transport: httpx.BaseTransport | None = None,
    target_jobs: TargetJobs | None = None,
) -> FastAPI:
    """The homepage app.

    Args:
        settings: the start-up settings (`load_settings`), parsed once by the caller; they
            must fix the tenant (`central365.web.tenancy`), else `ConfigError`.
        database: an open application database; None opens (and migrates)
            `settings.app_database_url` in the lifespan.
        secret_box: the key for secrets at rest; None uses `SecretBox.from_settings`.
        identity: the sign-in client; None builds `MsalIdentity` from the stored settings.
        bearer: the API's bearer-token verifier; None verifies against the authority's JWKS.
        graph_transport: an httpx transport for Graph (the in-process sandbox); None: network.
        target_jobs: what runs the targets' jobs (tests); None: Celery or the embedded pool.
    """
    tenancy_of(settings)  # refuse to build a homepage open to every tenant (ConfigError)
    injected = Injected(database, secret_box, identity, bearer, graph_transport, target_jobs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await run_in_threadpool(Runtime, settings, injected)
        app.state.runtime = runtime
        try:
            yield
        finally:
            await run_in_threadpool(runtime.close)

    app = HomepageApp(
        title="central365",
        version=__version__,
        summary="Synchronise Central's active contacts into an Office 365 contacts folder.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.templates = build_templates()
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        auth,
        home,
        orphans,
        runs,
        history,
        schedules_page,
        settings_page,
        alerts_page,
        guide,
    ):
        app.include_router(module.router)
    app.include_router(api.router)
    failures.install(app)
    # Outermost: the security headers (`HomepageApp`), then Starlette's 500 answer, then the
    # body limit, so its 413s carry the headers and it wraps every route before a byte is read.
    app.hsts = settings.public_url.lower().startswith("https://")
    # The upload route enforces its own cap with a message beside the form's field; the body
    # limit stays above it (the file's cap plus the multipart framing, twice) as the backstop.
    upload_max = settings.upload_max_bytes + 2 * FRAMING_ALLOWANCE
    app.add_middleware(BodyLimit, prefix_max={UPLOAD_PREFIX: upload_max})
    return app
