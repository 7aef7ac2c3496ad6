"""`sandbox`, `serve` and `demo`: the servers the command line starts in the foreground."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from central365.cli.app import Context, app, errors_handled
from central365.core.errors import Central365Error


@app.command()
def sandbox(
    typer_ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    state: Annotated[
        Path | None, typer.Option("--state", help="Keep the mailboxes in this SQLite file.")
    ] = None,
    mailbox: Annotated[
        list[str] | None,
        typer.Option(
            help="A mailbox that exists (repeatable); the first is /me. Default demo@contoso.test."
        ),
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="Accept only this bearer token (default: any non-empty one).")
    ] = None,
    latency_ms: Annotated[
        int, typer.Option(help="Network round trip added to every HTTP request (a batch is one).")
    ] = 0,
    op_ms: Annotated[
        int,
        typer.Option(
            help="Service time of each mailbox operation (a request or a $batch member), held "
            "in one of the mailbox's 4 slots."
        ),
    ] = 0,
    throttle: Annotated[
        bool, typer.Option(help="Outlook's limits: 4 concurrent requests and the budget.")
    ] = True,
    budget: Annotated[
        int, typer.Option(help="Requests per mailbox per window; $batch members count one each.")
    ] = 10_000,
    window: Annotated[float, typer.Option(help="The budget's window, in seconds.")] = 600.0,
    fault_rate: Annotated[
        float, typer.Option(help="Share of requests answered 429/503/504 at random (0..1).")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the random faults.")] = 0,
    display_name_overwrite: Annotated[
        bool,
        typer.Option(help="Every PATCH without displayName regenerates it (Exchange may do so)."),
    ] = False,
    tls: Annotated[
        bool, typer.Option(help="Serve HTTPS with a local CA (needed to sign in with msal).")
    ] = False,
    tls_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where the CA and certificates go (default: the state file's folder, else ./data)."
        ),
    ] = None,
    identity: Annotated[
        Path | None,
        typer.Option(
            help="JSON file of the identity platform's apps and users (see docs/sandbox.md)."
        ),
    ] = None,
) -> None:
    """Serve the local Microsoft Graph sandbox (see docs/sandbox.md)."""
    ctx: Context = typer_ctx.obj
    with errors_handled(ctx):
        from central365.sandbox.faults import FaultConfig
        from central365.sandbox.identity import IdentityConfig
        from central365.sandbox.server import run_sandbox
        from central365.sandbox.tls import ca_path_in

        try:
            faults = FaultConfig(
                latency_ms=latency_ms,
                op_ms=op_ms,
                mailbox_concurrency=4 if throttle else None,
                window_requests=budget if throttle else None,
                window_s=window,
                fault_rate=fault_rate,
                seed=seed,
                display_name_overwrite=display_name_overwrite,
            )
        except ValueError as exc:
            raise Central365Error(f"The sandbox options are not valid: {exc}.") from None
        directory = (tls_dir or (state.parent if state else Path("data"))) if tls else None
        try:
            identity_config = (
                IdentityConfig.from_json(json.loads(identity.read_text(encoding="utf-8")))
                if identity
                else None
            )
        except (OSError, ValueError) as exc:
            raise Central365Error(f"The identity file {identity} is not usable: {exc}.") from None
        scheme = "https" if tls else "http"
        ctx.err.print(
            f"Graph sandbox on {scheme}://{host}:{port}/v1.0 (admin: /_sandbox). Ctrl-C stops it.",
            markup=False,
        )
        if directory is not None:
            ctx.err.print(
                f"Sign-in authority {scheme}://{host}:{port}/organizations (msal: "
                f"instance_discovery=False). Trust the CA: "
                f"CENTRAL365_CA_BUNDLE={ca_path_in(directory).resolve()}",
                markup=False,
                soft_wrap=True,
            )
        mailboxes = mailbox or ["demo@contoso.test"]
        run_sandbox(
            host,
            port,
            state,
            faults,
            mailboxes[0],
            mailboxes=tuple(mailboxes[1:]),
            token=token,
            log_level="warning",
            tls_dir=directory,
            identity=identity_config,
        )


@app.command()
def serve(
    typer_ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    certfile: Annotated[
        Path | None, typer.Option(help="TLS certificate (PEM) to serve https directly.")
    ] = None,
    keyfile: Annotated[Path | None, typer.Option(help="The certificate's private key.")] = None,
) -> None:
    """Serve the homepage (sign-in with Microsoft; set CENTRAL365_PUBLIC_URL to its address)."""
    ctx: Context = typer_ctx.obj
    with errors_handled(ctx):
        import uvicorn

        from central365.serving import homepage_log_config
        from central365.web import create_app

        settings = ctx.settings(require_central=False)
        homepage = create_app(settings)  # refuses, before announcing it, a tenant not fixed
        ctx.err.print(f"central365 homepage on {settings.public_url} (listening on {host}:{port}).")
        uvicorn.run(
            homepage,
            host=host,
            port=port,
            ssl_certfile=str(certfile) if certfile else None,
            ssl_keyfile=str(keyfile) if keyfile else None,
            log_level="info",
            log_config=homepage_log_config(),
            proxy_headers=True,
        )


@app.command()
def demo(
    typer_ctx: typer.Context,
    data_dir: Annotated[Path, typer.Option(help="Where the demo files go.")] = Path("data/demo"),
    port: Annotated[int, typer.Option(help="Port of the homepage.")] = 8000,
    sandbox_port: Annotated[int, typer.Option(help="Port of the Graph sandbox.")] = 8765,
    size: Annotated[int, typer.Option(help="How many Central records.")] = 300,
    wait: Annotated[bool, typer.Option(help="Keep running until Ctrl-C.")] = True,
    history: Annotated[
        bool,
        typer.Option(
            help="Play a short past first: an earlier run, then edits in Outlook and Central."
        ),
    ] = True,
) -> None:
    """Build a demo Central, start the sandbox seeded against it, and serve the homepage."""
    ctx: Context = typer_ctx.obj
    with errors_handled(ctx):
        from central365.demo.run import DemoOptions, run_demo

        options = DemoOptions(
            data_dir=data_dir,
            port=port,
            sandbox_port=sandbox_port,
            size=size,
            wait=wait,
            history=history,
        )
        try:
            run_demo(ctx.out, options)
        except OSError as exc:
            raise Central365Error(
                f"The demo could not start: {exc.strerror or exc}. Are ports {port} and "
                f"{sandbox_port} free? Pass --port / --sandbox-port to use others."
            ) from None
