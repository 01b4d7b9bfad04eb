"""Agent phones: the PJSIP endpoints of ``config/seats.yaml`` and their SIP credentials.

Every agent's phone registers with digest authentication (user = the endpoint name, e.g.
``agent-1001``; a password generated per agent on first use and kept in the install's
``secrets.env``), one contact per AOR, qualified so that Asterisk knows when it is gone. Calls
placed from the phone land in ``hotline-agents`` (feature codes ``*72``..``*75``).

Rendered into ``hotline-agents.conf`` by ``hotline render``: a file with passwords, written 0640
unless it exists already (then its owner and mode are kept, so an operator's ``asterisk`` group
stays able to read it).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

from ari_app.seats.model import Agent, Seats
from ari_app.secrets_store import ensure_secrets

AGENT_CONTEXT = "hotline-agents"
REGISTRATION_EXPIRY = 120  # seconds a phone's registration lasts unless renewed (phones renew earlier)
QUALIFY_SECONDS = 30  # OPTIONS to a registered phone; an unanswered one marks it unreachable
PROXIED_QUALIFY_SECONDS = 10  # behind a proxy: how soon a node sees a phone register or go


def password_key(agent_id: str) -> str:
    return f"HOTLINE_AGENT_{agent_id}_PASSWORD"


def new_phone_password() -> str:
    """16 characters of [A-Za-z0-9_-]: typeable on a softphone, about 96 bits."""
    return secrets.token_urlsafe(12)


def agent_passwords(state_dir: Path, seats: Seats) -> dict[str, str]:
    """Agent id -> SIP password, creating (and keeping) the passwords of new agents."""
    by_key = ensure_secrets(state_dir, (password_key(a.id) for a in seats.agents), new_phone_password)
    return {a.id: by_key[password_key(a.id)] for a in seats.agents}


def _agent_block(agent: Agent, password: str, media_options: str) -> str:
    e = agent.endpoint
    return f"""; {agent.id} {agent.name}
[{e}]
type = endpoint
context = {AGENT_CONTEXT}
{media_options}
auth = {e}
aors = {e}
callerid = "{agent.id}" <{agent.id}>
rewrite_contact = yes

[{e}]
type = auth
auth_type = userpass
username = {e}
password = {password}

[{e}]
type = aor
max_contacts = 1
remove_existing = yes
default_expiration = {REGISTRATION_EXPIRY}
qualify_frequency = {QUALIFY_SECONDS}
qualify_timeout = 3.0
"""


def _proxied_block(agent: Agent, proxy: str, media_options: str) -> str:
    """Several nodes behind a SIP proxy: the phone registers at the proxy (which checks its password),
    so the node reaches it through the proxy (a static contact, qualified: the proxy answers 404 for
    a phone that is not registered, which only ``qualify_2xx_only`` makes Asterisk count as
    unreachable) and knows the agent's own calls by the From user."""
    e = agent.endpoint
    return f"""; {agent.id} {agent.name} (registered at the proxy {proxy})
[{e}]
type = endpoint
context = {AGENT_CONTEXT}
{media_options}
aors = {e}
callerid = "{agent.id}" <{agent.id}>
identify_by = username

[{e}]
type = aor
contact = sip:{e}@{proxy}
qualify_frequency = {PROXIED_QUALIFY_SECONDS}
qualify_timeout = 3.0
qualify_2xx_only = yes
"""


def render_agent_phones(
    seats: Seats, passwords: Mapping[str, str], header: str, media_options: str, proxy: str = ""
) -> str:
    """Every agent's endpoint: registering here with its password, or (``proxy``: host:port of the
    SIP proxy in front of several nodes) reached through the proxy where it registers."""
    if proxy:
        agents = sorted(seats.agents, key=lambda a: a.id)
        return "\n".join([header, *(_proxied_block(a, proxy, media_options) for a in agents)])
    missing = [a.id for a in seats.agents if not passwords.get(a.id)]
    if missing:
        raise ValueError(f"no SIP password for agents {', '.join(missing)}")
    blocks = [_agent_block(a, passwords[a.id], media_options) for a in sorted(seats.agents, key=lambda a: a.id)]
    return "\n".join([header, *blocks])
