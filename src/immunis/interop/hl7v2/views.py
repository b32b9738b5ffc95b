"""HL7 v2 over HTTP: POST one message to /hl7/v2 (text/plain or application/hl7-v2), get its
answer back. With a valid bearer token the status is always 200; the answer's MSA says how the
message fared. Without one, 401."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from immunis.interop.hl7v2.service import handle_message
from immunis.settings import get_settings
from immunis.web.context import Hl7Context

router = APIRouter(prefix="/hl7", tags=["hl7v2"])

MEDIA_TYPE = "application/hl7-v2"
# MSH-18 of the answer -> the HTTP name of its character set.
HTTP_CHARSETS = {"": "us-ascii", "UNICODE UTF-8": "utf-8", "8859/1": "iso-8859-1"}


@router.post(
    "/v2",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "The ACK or RSP"}},
)
async def receive_message(request: Request, context: Hl7Context) -> Response:
    """Process one VXU^V04 or QBP^Q11 and answer with its ACK or RSP."""
    data = await request.body()
    reply = await run_in_threadpool(
        handle_message,
        data,
        context.actor,
        context.sessions,
        schedule_id=get_settings().default_schedule,
    )
    return Response(
        reply.encode(), media_type=f"{MEDIA_TYPE}; charset={HTTP_CHARSETS[reply.charset]}"
    )
