"""The one map from pcinet errors to HTTP, and the error body every failure gets:
``{"error": {"code": "<stable code>", "message": "...", "field": "..."}}``."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pcinet.core.errors import InvalidInput, PcinetError

STATUS_BY_CODE: dict[str, int] = {
    "invalid_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "vlan_in_use": 409,
    "network_in_use": 409,
    "mac_address_in_use": 409,
    "port_in_use": 409,
    "device_in_use": 409,
    "device_unavailable": 409,
    "no_valid_host": 409,
    "network_not_servable": 409,
    "concurrent_update": 409,
    "over_quota": 409,
    "binding_inconsistent": 500,
    "no_network_available": 503,
}
log = logging.getLogger("pcinet.api")
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}


def status_for(exc: PcinetError) -> int:
    if isinstance(exc, InvalidInput):
        return 400
    return STATUS_BY_CODE.get(exc.code, 500)


def error_response(status: int, body: dict[str, Any]) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(PcinetError)
    async def _pcinet(_: Request, exc: PcinetError) -> JSONResponse:
        return error_response(status_for(exc), exc.to_dict())

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid"}
        field = _field(tuple(first.get("loc", ())))
        if first.get("type") == "json_invalid":
            message = "the body is not valid JSON"
        else:
            message = f"{field}: {first.get('msg', 'invalid')}"
        return error_response(400, {"code": "invalid_request", "message": message, "field": field})

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(
            500, {"code": "internal_error", "message": f"internal error: {type(exc).__name__}"}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        return error_response(exc.status_code, {"code": code, "message": detail})
