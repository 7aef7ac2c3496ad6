"""Which Microsoft Entra tenants the homepage serves: decided once, at start-up.

The homepage signs people in and accepts API tokens; without a fixed tenant the authority
would be `organizations` and any work account of any organisation could sign in and start a
run.  So `central365 serve` (and `create_app`) refuse to start unless the start-up settings name
the tenant (`tenant_id`) or an explicit allow-list of tenant ids (`tenants`); `common`,
`organizations` and `consumers` are refused.  Every sign-in and every bearer token is then
checked against `Tenancy.allows(tid)`.

The tenant is a start-up setting only: the Settings page shows it but cannot change it, so no
signed-in person can widen who may sign in.

Must not: look anything up on the network (a domain name cannot be compared with the `tid`
claim, so it is refused here rather than resolved).
"""

from __future__ import annotations

from dataclasses import dataclass

from central365.config import Settings, env_name
from central365.core.errors import ConfigError

#: Authority segments that let more than one organisation sign in.
MULTI_TENANT = frozenset({"common", "organizations", "consumers"})


@dataclass(frozen=True, slots=True)
class Tenancy:
    """The sign-in authority's tenant segment and the tenant ids accepted in `tid`."""

    authority_tenant: str
    allowed: frozenset[str]  # case-folded

    def allows(self, tid: str) -> bool:
        return bool(tid) and tid.strip().casefold() in self.allowed


def _problem(tenant: str) -> str | None:
    if tenant.casefold() in MULTI_TENANT:
        return f"{tenant!r} lets any organisation in"
    if "." in tenant or "@" in tenant:
        return f"{tenant!r} is a domain name, not a directory (tenant) id"
    return None


def tenancy_of(settings: Settings) -> Tenancy:
    """The homepage's tenants; raises `ConfigError` (one sentence) when they are not fixed."""
    tenant = (settings.tenant_id or "").strip()
    listed = [t.strip() for t in settings.tenants if t.strip()]
    problems = [p for p in (_problem(t) for t in ([tenant] if tenant else []) + listed) if p]
    if problems or not (tenant or listed):
        found = f" ({'; '.join(problems)})" if problems else ""
        raise ConfigError(
            f"The homepage must serve a fixed tenant{found}: set {env_name('tenant_id')} to your "
            f"directory (tenant) id, or list the tenant ids that may sign in in "
            f"{env_name('tenants')}."
        )
    allowed = frozenset(t.casefold() for t in ([tenant] if tenant else []) + listed)
    # One tenant: its own authority.  An allow-list of several without `tenant_id`: the
    # multi-tenant authority, with every `tid` checked against the list.
    authority = tenant or (listed[0] if len(allowed) == 1 else "organizations")
    return Tenancy(authority, allowed)
