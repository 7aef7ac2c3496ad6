"""`POST {u}/translateExchangeIds`: convert contact ids between the regular and immutable forms.

Reference §6.1 (`user-translateexchangeids.md`): the body names `inputIds` (at most 1000), a
`sourceIdType` and a `targetIdType`; the answer lists `{sourceId, targetId}` per input.  The
sandbox converts between `restId` and `restImmutableEntryId` (the REST forms its ids take); an
id it does not know gets `errorDetails` instead of a `targetId` (its wording is unsourced).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from central365.mailstore.problem import NOT_FOUND_MESSAGE, bad_request
from central365.mailstore.store import SandboxStore
from central365.sandbox import odata
from central365.sandbox.messages import GraphRequest, GraphResponse, json_response

_REST_TYPES = ("restId", "restImmutableEntryId")
#: Types Graph knows that the sandbox does not model (EWS and MAPI forms).
_OTHER_TYPES = ("entryId", "ewsId", "immutableEntryId")
MAX_INPUT_IDS = 1000


def _id_type(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if value in _REST_TYPES:
        return str(value)
    if value in _OTHER_TYPES:
        raise bad_request(
            f"The sandbox converts only restId and restImmutableEntryId, not {value}."
        )
    raise bad_request(f"'{name}' must be one of {', '.join(_REST_TYPES + _OTHER_TYPES)}.")


def translate_exchange_ids(store: SandboxStore, req: GraphRequest, mailbox: str) -> GraphResponse:
    odata.check_options(req.query, set())
    payload = req.json()
    if not isinstance(payload, Mapping):
        raise bad_request("The request body must be an object.", "RequestBodyRead")
    inputs = payload.get("inputIds")
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise bad_request("'inputIds' must be a list of ids.")
    if len(inputs) > MAX_INPUT_IDS:
        raise bad_request(f"At most {MAX_INPUT_IDS} ids can be translated at once.")
    source = _id_type(payload, "sourceIdType")
    target = _id_type(payload, "targetIdType")
    converted = store.translate_ids(mailbox, inputs, target == "restImmutableEntryId")
    values: list[dict[str, Any]] = []
    for source_id, target_id in zip(inputs, converted, strict=True):
        if target_id and source == target:
            target_id = source_id
        if target_id:
            values.append({"sourceId": source_id, "targetId": target_id})
        else:
            error = {"code": "ErrorItemNotFound", "message": NOT_FOUND_MESSAGE}
            values.append({"sourceId": source_id, "errorDetails": error})
    context = f"{req.api_root}/$metadata#Collection(microsoft.graph.convertIdResult)"
    return json_response(200, {"@odata.context": context, "value": values})
