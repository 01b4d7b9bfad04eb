"""Several Asterisk nodes driven by one ``hotline serve``: their names and which node a call is on.

Every node has its own ``systemname`` (asterisk.conf), so Asterisk names its channels
``<node>-<epoch>.<seq>``; a call is keyed by its caller's channel id, so the id says which node
holds the call. Ids the app makes itself (``agent-...``, ``visit-...``) carry no node: a call's
own task knows its node, and anything without a node belongs to the first one. With one node
(``HOTLINE_ARI_NODES`` unset) its name is "" and every id is its.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")


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
