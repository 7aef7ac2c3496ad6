"""A local Microsoft Graph sandbox: the subset of v1.0 central365 uses, served faithfully.

Like Azurite for Azure Storage: demos, tests and benchmarks run against it on machines with no
internet.  See docs/sandbox.md for what it models and every knob; "reference §n" in this
package means a section of docs/graph-reference.md.

    store = SandboxStore()
    app = create_sandbox_app(store, FaultConfig(latency_ms=20))   # in-process (ASGI)
    with SandboxServer(store) as sandbox: ...                     # on a real port
    run_sandbox(port=8765, state_path=Path("state.db"))           # the CLI's foreground server
"""

from central365.mailstore.store import DEFAULT_MAILBOX, SandboxStore, seed_folder
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.faults import FaultConfig, FaultInjector, FaultKind, FaultRule, FaultScope
from central365.sandbox.server import SandboxServer, run_sandbox

__all__ = [
    "DEFAULT_MAILBOX",
    "FaultConfig",
    "FaultInjector",
    "FaultKind",
    "FaultRule",
    "FaultScope",
    "SandboxServer",
    "SandboxStore",
    "create_sandbox_app",
    "run_sandbox",
    "seed_folder",
]
