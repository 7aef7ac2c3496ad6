"""Deleting chosen contacts of the "Only in Office 365" view (admins only, guarded).

`POST /orphans/delete` takes the ticked contacts (`office365_id`, repeatable) and, when the
admin ticked it, `allow_mass_change`; it starts a run that plans again and deletes those that
are still orphans (`web.actions.start_orphan_delete`), and the browser goes to the run's page.
Nothing ticked sends the person back to the view with the explanation there.  A person who is
not an admin is refused (403) — the view shows them the reason before the click.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.responses import RedirectResponse, Response

from central365.web.actions import start_orphan_delete
from central365.web.deps import Csrf, RuntimeDep

router = APIRouter(include_in_schema=False)


@router.post("/orphans/delete")
def delete_orphans(
    caller: Csrf,
    runtime: RuntimeDep,
    office365_id: Annotated[list[str] | None, Form()] = None,
    allow_mass_change: Annotated[str, Form()] = "",
) -> Response:
    if not any(i.strip() for i in office365_id or []):
        return RedirectResponse("/?state=orphans&nothing_selected=1", status_code=303)
    run = start_orphan_delete(
        runtime, caller, office365_id or [], allow_mass_change=allow_mass_change == "on"
    )
    return RedirectResponse(f"/runs/{run.id}", status_code=303)
