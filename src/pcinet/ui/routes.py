"""``/ui``: the dashboard, served by the controller itself (``pcinet serve``).

Sign-in takes a token (as ``pcinet token create`` gives one) and keeps it in an HTTP-only,
``SameSite=Strict`` session cookie scoped to ``/ui``; every page authenticates it as the
API does, so roles apply unchanged: admins see every host and server, members their own
servers and ports (the host pages are the admin's, as ``GET /v1/hosts`` is). Nothing on
these pages changes state: "Why not?" and "How many more?" run the scheduler on a copy of
its snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from pcinet.api.deps import Ctl
from pcinet.api.errors import status_for
from pcinet.cli.remote import vlan_of
from pcinet.core.errors import PcinetError
from pcinet.service import capacity as service_capacity
from pcinet.service import ports as service_ports
from pcinet.service import servers as service_servers
from pcinet.service.context import Caller
from pcinet.service.controller import Controller
from pcinet.service.errors import InvalidRequest, Unauthorized
from pcinet.service.networks import list_networks
from pcinet.service.tokens import authenticate
from pcinet.ui import data

HERE = Path(__file__).parent
COOKIE = "pcinet_session"
MAX_FORM_PORTS = 4

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["heat_colour"] = data.heat
templates.env.globals["vlan_of"] = vlan_of
templates.env.globals["max_per_page"] = data.MAX_PER_PAGE
router = APIRouter(prefix="/ui", include_in_schema=False)


class SignIn(Exception):
    """No valid session: the page redirects to the sign-in form."""


def _caller(request: Request, ctl: Controller) -> Caller:
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignIn
    try:
        return authenticate(ctl, f"Bearer {token}")
    except Unauthorized:
        raise SignIn from None


def _page(request: Request, name: str, caller: Caller | None, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, {"caller": caller, "page": name.removesuffix(".html"), **context}
    )


def _signed(request: Request, ctl: Controller) -> Caller | RedirectResponse:
    try:
        return _caller(request, ctl)
    except SignIn:
        return RedirectResponse("/ui/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return _page(request, "login.html", None, error=None)


@router.post("/login", response_model=None)
def login(
    request: Request, ctl: Ctl, token: Annotated[str, Form()] = ""
) -> HTMLResponse | RedirectResponse:
    try:
        authenticate(ctl, f"Bearer {token.strip()}")
    except Unauthorized as exc:
        return _page(request, "login.html", None, error=exc.message)
    response = RedirectResponse("/ui", status_code=303)
    response.set_cookie(
        COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/ui",
    )
    return response


@router.post("/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


@router.get("", response_class=HTMLResponse, response_model=None)
def overview(request: Request, ctl: Ctl) -> Response:
    caller = _signed(request, ctl)
    if isinstance(caller, Response):
        return caller
    params = _form(request)
    try:
        heat = data.overview(ctl, _host_query(params)) if caller.is_admin else None
    except PcinetError as exc:
        return _error(request, caller, exc)
    servers = service_servers.list_servers(ctl, caller)
    ports = service_ports.list_ports(ctl, caller)
    return _page(
        request, "overview.html", caller, heat=heat, servers=servers, ports=ports, params=params
    )


def _host_query(params: Mapping[str, str]) -> data.HostQuery:
    return data.HostQuery(
        page=_int(params, "page", 1),
        per_page=_int(params, "per_page", data.DEFAULT_PER_PAGE),
        name=params.get("host", "").strip(),
        physnet=params.get("physnet") or None,
    )


@router.get("/hosts/{name}", response_class=HTMLResponse, response_model=None)
def host(request: Request, ctl: Ctl, name: str) -> Response:
    caller = _signed(request, ctl)
    if isinstance(caller, Response):
        return caller
    try:
        view, pfs = data.host_page(ctl, caller, name)
    except PcinetError as exc:
        return _error(request, caller, exc)
    return _page(request, "host.html", caller, host=view, pfs=pfs)


def _error(request: Request, caller: Caller, exc: PcinetError) -> HTMLResponse:
    response = _page(request, "error.html", caller, error=exc)
    response.status_code = status_for(exc)
    return response


def _form(request: Request) -> dict[str, str]:
    return dict(request.query_params.items())


def _int(params: Mapping[str, str], key: str, default: int) -> int:
    text = params.get(key, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise InvalidRequest(f"{key}: {text!r} is not an integer", field=key) from None


def _extra_specs(text: str) -> dict[str, str]:
    specs: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise InvalidRequest(
                f"extra specs: {line.strip()!r} is not of the form KEY=VALUE", field="extra_specs"
            )
        specs[key.strip()] = value.strip()
    return specs


@router.get("/whynot", response_class=HTMLResponse, response_model=None)
def why_not(request: Request, ctl: Ctl) -> Response:
    caller = _signed(request, ctl)
    if isinstance(caller, Response):
        return caller
    params = _form(request)
    networks = list_networks(ctl, caller)
    answer = error = None
    shapes = [
        (params.get(f"network{i}", ""), params.get(f"vnic{i}", "direct"))
        for i in range(MAX_FORM_PORTS)
    ]
    if "vcpus" in params:
        try:
            answer = service_capacity.why_not(
                ctl,
                caller,
                [(n, v) for n, v in shapes if n],
                port_ids=params.get("port_ids", "").replace(",", " ").split(),
                vcpus=_int(params, "vcpus", 1),
                memory_mb=_int(params, "memory_mb", 512),
                extra_specs=_extra_specs(params.get("extra_specs", "")),
            )
        except PcinetError as exc:
            error = exc
    return _page(
        request,
        "whynot.html",
        caller,
        networks=networks,
        params=params,
        shapes=shapes,
        answer=answer,
        error=error,
        vnic_types=service_capacity.VNIC_TYPES,
    )


@router.get("/capacity", response_class=HTMLResponse, response_model=None)
def capacity(request: Request, ctl: Ctl) -> Response:
    caller = _signed(request, ctl)
    if isinstance(caller, Response):
        return caller
    params = _form(request)
    networks = list_networks(ctl, caller)
    answer = error = None
    if params.get("network"):
        try:
            answer = service_capacity.capacity(
                ctl,
                caller,
                network=params["network"],
                vnic_type=params.get("vnic_type", "direct"),
                ports=_int(params, "ports", 1),
                vcpus=_int(params, "vcpus", 1),
                memory_mb=_int(params, "memory_mb", 512),
                extra_specs=_extra_specs(params.get("extra_specs", "")),
                max_servers=_int(params, "max_servers", service_capacity.DEFAULT_MAX_SERVERS),
            )
        except PcinetError as exc:
            error = exc
    return _page(
        request,
        "capacity.html",
        caller,
        networks=networks,
        params=params,
        answer=answer,
        error=error,
        vnic_types=service_capacity.VNIC_TYPES,
    )


@router.get("/static/{name}")
def static(name: str) -> Response:
    """The stylesheet and script (no external assets: machines may have no internet)."""
    files = {"ui.css": "text/css", "ui.js": "text/javascript"}
    if name not in files:
        return Response(status_code=404)
    body = (HERE / "static" / name).read_bytes()
    return Response(body, media_type=files[name], headers={"Cache-Control": "max-age=300"})
