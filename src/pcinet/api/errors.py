"""The one map from pcinet errors to HTTP, and the error body every failure gets:
``{"error": {"code": "<stable code>", "message": "...", "field": "..."}}``, bounded in
size (a message quotes at most a short excerpt of the input)."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pcinet.core.errors import InvalidInput, PcinetError
from pcinet.service.errors import InvalidRequest
from pcinet.service.inputs.base import excerpt, invalid_request
from pcinet.service.inputs.limits import MAX_BODY_BYTES

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
    "request_too_large": 413,
    "binding_inconsistent": 500,
    "no_network_available": 503,
}
log = logging.getLogger("pcinet.api")
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
NOT_JSON = "the body is not valid JSON (send a JSON value with Content-Type: application/json)"


class BodyTooLarge(Exception):
    """The request body went over the limit while it was read (``api.guard``)."""


def too_large(limit: int) -> dict[str, str]:
    return {
        "code": "request_too_large",
        "message": f"the request body is over the limit of {limit} bytes",
    }


def status_for(exc: PcinetError) -> int:
    if isinstance(exc, InvalidInput):
        return 400
    return STATUS_BY_CODE.get(exc.code, 500)


def error_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    for key in ("message", "field"):
        if isinstance(body.get(key), str):
            body[key] = excerpt(body[key])
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def internal_error(exc: BaseException) -> JSONResponse:
    return error_response(
        500, {"code": "internal_error", "message": f"internal error: {type(exc).__name__}"}
    )


def _where(request: Request) -> str:
    """How the route's body is named in errors (``network``), from its model's ``WHERE``."""
    route = request.scope.get("route")
    for param in getattr(getattr(route, "dependant", None), "body_params", ()):
        return str(getattr(param.field_info.annotation, "WHERE", "body"))
    return "body"


def _validation_error(request: Request, exc: RequestValidationError) -> PcinetError:
    errors = exc.errors()
    first: dict[str, Any] = dict(errors[0]) if errors else {"loc": ("body",)}
    loc: tuple[Any, ...] = tuple(first.get("loc", ()))
    if first.get("type") == "json_invalid" or (
        loc[:1] == ("body",) and isinstance(first.get("input"), bytes | str) and len(loc) == 1
    ):
        where = _where(request)
        return InvalidRequest(f"{where}: {NOT_JSON}", field=where)
    if loc[:1] == ("body",):
        return invalid_request(_where(request), [{**first, "loc": loc[1:]}])
    return invalid_request("", [{**first, "loc": loc[1:]}])


def install(app: FastAPI) -> None:
    @app.exception_handler(PcinetError)
    async def _pcinet(_: Request, exc: PcinetError) -> JSONResponse:
        return error_response(status_for(exc), exc.to_dict())

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, _validation_error(request, exc).to_dict())

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, BodyTooLarge):
            return error_response(413, too_large(MAX_BODY_BYTES))
        if exc.status_code == 400:  # FastAPI could not read the body (bad UTF-8, too deep)
            return error_response(400, {"code": "invalid_request", "message": NOT_JSON})
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names one route's methods; the path has more
            headers["Allow"] = ", ".join(_allowed(app, request.url.path))
        return error_response(exc.status_code, {"code": code, "message": detail}, headers=headers)


def _allowed(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves on ``path`` (RFC 9110's ``Allow``)."""
    methods: set[str] = set()
    for route in app.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)
