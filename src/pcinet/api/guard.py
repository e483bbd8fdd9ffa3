"""The outermost middleware of the API: a bound on the request body, and the catch-all
for errors nothing else handled.

Starlette's own catch-all (``ServerErrorMiddleware``) re-raises after answering, so the
server logs the error a second time and closes the client's keep-alive connection. Here an
unexpected error is logged once (SQL parameters hidden: they may hold a client's data) and
answered 500 with the error body; the connection stays open."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pcinet.api.errors import BodyTooLarge, error_response, internal_error, too_large
from pcinet.service.inputs.limits import MAX_BODY_BYTES

log = logging.getLogger("pcinet.api")


class Guard:
    def __init__(self, app: ASGIApp, *, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body
        for key, value in scope.get("headers", ()):
            if key == b"content-length" and value.isdigit() and int(value) > limit:
                await error_response(413, too_large(limit))(scope, receive, send)
                return
        received = 0
        started = False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except Exception as exc:
            if started:
                raise  # nothing can be answered any more
            if isinstance(exc, BodyTooLarge) or isinstance(exc.__cause__, BodyTooLarge):
                await error_response(413, too_large(limit))(scope, receive, send)
                return
            if isinstance(exc, sa.exc.StatementError):
                exc.hide_parameters = True
            log.error(
                "unhandled error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc
            )
            await internal_error(exc)(scope, receive, send)
