"""The Asterisk nodes `hotline reload` and `hotline doctor` act on, from ``HOTLINE_AMI_NODES``.

``pbx1=5038=/etc/asterisk/hotline,pbx2=10.0.0.12:5038=/srv/pbx2/hotline``: per node its name (the
node's systemname, as in ``HOTLINE_ARI_NODES``), its AMI address (``[host:]port``; host 127.0.0.1
unless given) and the include directory where `hotline reload` writes its files for that node (as
this host sees it: a local directory, or a mount of the node's). Every node has the same AMI user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ari_app.ari.nodes import NAME
from ari_app.settings import SettingsError

_ADDRESS = re.compile(r"(?:(?P<host>[A-Za-z0-9_.:-]+):)?(?P<port>\d{1,5})")


@dataclass(frozen=True)
class AmiNode:
    name: str
    host: str
    port: int
    include_dir: Path


def parse_ami_nodes(raw: str) -> tuple[AmiNode, ...]:
    """The nodes of a ``HOTLINE_AMI_NODES`` value, in order; ValueError naming the bad item."""
    nodes: list[AmiNode] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        fields = item.split("=", 2)
        if len(fields) != 3 or not NAME.fullmatch(fields[0].strip()):
            raise ValueError(f"{item!r}: expected NAME=[HOST:]PORT=INCLUDE_DIR")
        name, address, include = (f.strip() for f in fields)
        match = _ADDRESS.fullmatch(address)
        if match is None or not 0 < int(match["port"]) < 65536:
            raise ValueError(f"{item!r}: the AMI address must be [host:]port")
        if not include.startswith("/"):
            raise ValueError(f"{item!r}: the include directory must be an absolute path")
        if any(n.name == name for n in nodes):
            raise ValueError(f"{item!r}: node {name} is named twice")
        nodes.append(AmiNode(name, match["host"] or "127.0.0.1", int(match["port"]), Path(include)))
    return tuple(nodes)


def ami_nodes_setting(raw: str) -> tuple[AmiNode, ...]:
    """HOTLINE_AMI_NODES (none: the one node of HOTLINE_AMI_PORT); SettingsError when it is wrong."""
    try:
        return parse_ami_nodes(raw)
    except ValueError as exc:
        raise SettingsError(f"HOTLINE_AMI_NODES: {exc}") from None
