"""POST /v1/documents: the one door through which every signed state change enters."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post

from dataex.api.state import runtime_from
from dataex.core.envelope import parse_envelope


class DocumentsController(Controller):
    path = "/v1/documents"
    tags = ["documents"]

    @post(
        "/",
        summary="Submit a signed document",
        description=(
            "Body: a signed envelope {document: {contract, signer, nonce, issued_at, body}, "
            "signature} as specified in contracts/SPEC.md; the body's JSON Schema per contract "
            "is at GET /v1/contracts/{name}. Answers 201 with the log entry once the command "
            "is durably committed. Sending the same document again answers with the first "
            "receipt (header Dataex-Replayed: true); another document with a used nonce is 409."
        ),
        status_code=201,
    )
    async def submit(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        runtime = runtime_from(request)
        raw = await request.body()
        parsed = parse_envelope(raw, runtime.settings.max_body_bytes)
        receipt = await runtime.sequencer.accept(parsed, max_skew=runtime.settings.max_clock_skew)
        headers = {"Dataex-Replayed": "true"} if receipt.replayed else {}
        return Response(receipt.to_dict(), status_code=201, headers=headers)
