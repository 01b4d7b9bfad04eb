"""Several Asterisk nodes driven by one ``hotline serve``: their names and which node a call is on.

Every node has its own ``systemname`` (asterisk.conf), so Asterisk names its channels
``<node>-<epoch>.<seq>``; a call is keyed by its caller's channel id, so the id says which node
holds the call. Legs the app makes for a caller's call (``agent-...``, ``dept-...``) carry no node:
the call's own task knows its node, and anything without a node belongs to the first one. The
calls the app places itself (return visits, callbacks) go through a live node, picked round robin
(:func:`pick_outbound`), and their ids name it (``pbx2-visit-...``). With one node
(``HOTLINE_ARI_NODES`` unset) its name is "" and every id is its.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
# Names that would read as the app's own leg prefixes (ari_app.calls.legs): ``agent-...`` must stay a leg.
RESERVED = frozenset({"agent", "dept", "visit", "cbk", "hold", "talk", "xfer", "pb"})


@dataclass(frozen=True)
class NodeSpec:
    name: str  # the node's systemname ("" for the only node)
    ari_url: str  # its Asterisk HTTP server, e.g. http://127.0.0.1:8088


def parse_nodes(raw: str) -> tuple[NodeSpec, ...]:
    """``pbx1=http://127.0.0.1:8088,pbx2=http://127.0.0.1:8089`` -> the nodes, in that order.

    Raises ValueError naming the bad item: a name that is not a systemname Asterisk puts in
    channel ids as we read them (a letter, then letters, digits, underscores; at most 32), a URL
    that is not http(s)://host:port, a name given twice."""
    nodes: list[NodeSpec] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        name, sep, url = item.partition("=")
        name, url = name.strip(), url.strip().rstrip("/")
        if not sep or not NAME.fullmatch(name):
            raise ValueError(f"{item!r}: expected NAME=URL with NAME the node's systemname (letters, digits, _)")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{item!r}: the ARI URL must be http://host:port")
        if name.lower() in RESERVED:
            raise ValueError(f"{item!r}: {name} is a prefix of the app's own channel ids; name the node otherwise")
        if any(n.name == name for n in nodes):
            raise ValueError(f"{item!r}: node {name} is named twice")
        nodes.append(NodeSpec(name, url))
    return tuple(nodes)


def node_of(channel_id: str, names: Sequence[str]) -> str:
    """The node whose ``<name>-`` begins ``channel_id`` (the longest such name); else the first node."""
    best = ""
    for name in names:
        if name and channel_id.startswith(name + "-") and len(name) > len(best):
            best = name
    return best or (names[0] if names else "")


def pick_outbound(ready: Sequence[bool], turn: int) -> int | None:
    """Which node places the next outbound call: the first ready node at or after ``turn`` (modulo
    the count), so that successive calls go round the live nodes; None when no node is ready."""
    count = len(ready)
    for step in range(count):
        index = (turn + step) % count
        if ready[index]:
            return index
    return None


def parse_spools(raw: str, names: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``pbx1=/srv/pbx1/hotline-calls.csv,pbx2=...`` -> (node, path) pairs (HOTLINE_CALL_SPOOLS).

    Every name must be one of ``names`` (the nodes of HOTLINE_ARI_NODES); raises ValueError naming
    the bad item (an unknown node, a path that is not absolute, a node given twice)."""
    spools: list[tuple[str, str]] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        name, sep, path = item.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not path.startswith("/"):
            raise ValueError(f"{item!r}: expected NODE=/absolute/path/of/its/call/spool")
        if name not in names:
            known = ", ".join(n for n in names if n) or "none: set HOTLINE_ARI_NODES"
            raise ValueError(f"{item!r}: {name} is not a node of HOTLINE_ARI_NODES ({known})")
        if any(n == name for n, _ in spools):
            raise ValueError(f"{item!r}: node {name} is named twice")
        spools.append((name, path))
    return tuple(spools)
