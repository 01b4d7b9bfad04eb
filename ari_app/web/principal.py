"""Who is calling: the account a request was authenticated as, and the role checks every route
makes. The accounts room's middleware puts a :class:`Principal` on each request it lets in
(``/healthz``, ``/readyz``, ``/login`` and ``/openapi.json`` are open); routes ask for it here."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ari_app.web.inputs import InputError

DESK = ("agent", "supervisor", "admin")  # who works calls and the queue
SUPERVISION = ("supervisor", "admin")
ANYONE = ("agent", "department", "supervisor", "admin")


@dataclass(frozen=True)
class Principal:
    name: str  # the login
    role: str  # agent | department | supervisor | admin
    department: str = ""  # a department handler's department
    agent_id: str = ""  # an agent's seat (config/seats.yaml)

    @property
    def actor_id(self) -> str:
        """The id history entries name: an agent's seat number, else the login."""
        return self.agent_id or self.name


KEY = web.RequestKey("principal", Principal)


def principal(request: web.Request) -> Principal:
    found = request.get(KEY)
    if not isinstance(found, Principal):
        raise InputError(401, "log in first: POST /login, then send Authorization: Bearer <token>")
    return found


def require(request: web.Request, *roles: str) -> Principal:
    """The caller, if their role is one of ``roles``; a 403 naming who may otherwise."""
    who = principal(request)
    if who.role not in roles:
        raise InputError(403, f"{who.role} {who.name} may not do this: only {', '.join(roles)} may")
    return who
