"""`GET /guide`: how central365 decides and what it writes, for every signed-in person.

The content is `central365.web.guide.build_guide()`, taken from the code's own tables; this
module only renders it.  The homepage links each field label and each reason to its place here.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from central365.web.deps import SignedIn
from central365.web.guide import build_guide
from central365.web.pages import render_page

router = APIRouter(include_in_schema=False)


@router.get("/guide")
def guide_page(request: Request, caller: SignedIn) -> Response:
    return render_page(
        request,
        "guide.html",
        {"guide": build_guide()},
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
    )
