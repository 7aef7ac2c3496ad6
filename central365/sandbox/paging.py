"""`$top` / `$skip` paging with absolute `@odata.nextLink`s (reference §2.3).

The nextLink is a full URL carrying every original option plus the next `$skip`; the last page
has none.  `Prefer: odata.maxpagesize=n` sets the page size when `$top` is absent.
"""

from __future__ import annotations

from typing import Any, TypeVar

from central365.sandbox import odata
from central365.sandbox.messages import GraphRequest

T = TypeVar("T")


def page_size(req: GraphRequest) -> int:
    """`$top`, else `Prefer: odata.maxpagesize` (clamped to 1..1000), else the default 10."""
    top = odata.option(req.query, "$top")
    if top is not None:
        return odata.parse_top(top)
    prefer = odata.parse_prefer(req.headers.get("prefer")).get("odata.maxpagesize")
    if prefer is not None and prefer.isdigit():
        return max(1, min(int(prefer), odata.MAX_PAGE_SIZE))
    return odata.DEFAULT_PAGE_SIZE


def page_of(req: GraphRequest, items: list[T]) -> tuple[list[T], dict[str, Any]]:
    """The requested page of `items` and the annotations to add (`@odata.count`, nextLink)."""
    size = page_size(req)
    skip = odata.parse_skip(odata.option(req.query, "$skip"))
    extra: dict[str, Any] = {}
    if odata.parse_count(odata.option(req.query, "$count")):
        extra["@odata.count"] = len(items)
    chosen = items[skip : skip + size]
    if skip + size < len(items):
        params = {k: v for k, v in req.query.items() if k.lower() != "$skip"}
        params["$skip"] = str(skip + size)
        extra["@odata.nextLink"] = odata.build_url(req.api_root, req.path, params)
    return chosen, extra
