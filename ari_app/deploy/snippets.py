"""The configuration a telephony engineer adds to an existing Asterisk, as text.

One source for three readers: the README's deployment section shows these snippets (a unit test
checks it does, verbatim, for the default :class:`Site`), the deployment test applies them to a
stock Debian configuration, and ``hotline doctor`` checks what they set. The endpoint media options
are the ones the renderer gives every endpoint it writes; the module list is the one the sandbox and
the tests load.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from ari_app.registry.render import DEGRADED_QUEUE, MEDIA_OPTIONS
from ari_app.sandbox.confgen import MODULES

INCLUDE_DIR = "hotline"  # under Asterisk's configuration directory: `hotline render --out /etc/asterisk/hotline`
TRUNK = "trunk"  # the carrier trunk's endpoint in the README (any name works; config/return_visits.yaml names it)


@dataclass(frozen=True)
class Site:
    """What differs between installations. The defaults are what the README shows."""

    sip_bind: str = "0.0.0.0:5060"
    carrier: str = "203.0.113.10"  # the carrier's signalling address (a documentation address here)
    http_port: int = 8088
    agi_url: str = "agi://127.0.0.1:4573"
    ari_app: str = "hotline"
    ari_password: str = "<HOTLINE_ARI_PASSWORD>"  # noqa: S105 - a placeholder the README shows
    ami_secret: str = "<HOTLINE_AMI_SECRET>"  # noqa: S105 - a placeholder the README shows
    call_spool: str = "/var/spool/asterisk/hotline-calls.csv"  # the dialplan's call spool (HOTLINE_CALL_SPOOL)


def module_names() -> str:
    """The required modules (``load = NAME.so`` each under ``autoload = no``), wrapped for the README."""
    return textwrap.fill(" ".join(MODULES), width=100) + "\n"


def pjsip_conf(site: Site) -> str:
    return f"""; --- 12345 hotline ---
[global]
type = global
; Phones that share an address with a trunk identified by address (agents on the carrier's
; network, or on this host) are known by their user name before any match by address.
endpoint_identifier_order = username,ip

[transport-udp]
type = transport
protocol = udp
bind = {site.sip_bind}

; The carrier trunk: calls to the hotline numbers arrive here with the dialed number as extension.
; By address only: a request from elsewhere whose From names "trunk" is not let in.
[{TRUNK}]
type = endpoint
context = hotline-inbound
identify_by = ip
{MEDIA_OPTIONS}
aors = {TRUNK}

[{TRUNK}]
type = aor
contact = sip:{site.carrier}:5060

[{TRUNK}-identify]
type = identify
endpoint = {TRUNK}
match = {site.carrier}

#include "{INCLUDE_DIR}/hotline-pjsip.conf"
#include "{INCLUDE_DIR}/hotline-agents.conf"
"""


def extensions_conf(site: Site) -> str:
    return f"""; --- 12345 hotline ---
[globals](+)
HOTLINE_AGI = {site.agi_url}
HOTLINE_APP = {site.ari_app}
HOTLINE_DEGRADED_QUEUE = {DEGRADED_QUEUE}
HOTLINE_CALL_SPOOL = {site.call_spool}

#include "{INCLUDE_DIR}/hotline.conf"
#include "{INCLUDE_DIR}/hotline-numbers.conf"
"""


def http_conf(site: Site) -> str:
    return f"""; --- 12345 hotline ---
[general](+)
enabled = yes
bindaddr = 127.0.0.1
bindport = {site.http_port}
"""


def ari_conf(site: Site) -> str:
    return f"""; --- 12345 hotline ---
[general](+)
websocket_write_timeout = 1000

[hotline]
type = user
read_only = no
password = {site.ari_password}
"""


def manager_conf(site: Site) -> str:
    return f"""[hotline]
secret = {site.ami_secret}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = system,call,agent,user,config,dtmf,reporting,originate,security
write = system,call,agent,user,config,command,reporting,originate
"""


def queues_conf() -> str:
    return f'; --- 12345 hotline ---\n#include "{INCLUDE_DIR}/hotline-queues.conf"\n'


def rtp_conf() -> str:
    return "; --- 12345 hotline ---\n[general](+)\nicesupport = no\n"


# This project's sounds -> where they go under Asterisk's data directory (`core show settings`: Debian
# /usr/share/asterisk, a source build /var/lib/asterisk). Debian's stock [default] music class reads
# `moh` there, a folder no package makes unless asterisk-moh-opsound-* is installed.
DATA_COPIES = (("sounds/zh", "sounds/zh"), ("sounds/moh", "moh"))
DEBIAN_DATA_DIR = "/usr/share/asterisk"


def copy_commands(data_dir: str = DEBIAN_DATA_DIR) -> str:
    """The shell lines that put the prompts and the music in place (run from the project folder)."""
    return "".join(f"install -d -m 0755 {data_dir}/{dest}\ninstall -m 0644 {src}/*.wav {data_dir}/{dest}/\n"
                   for src, dest in DATA_COPIES)


def additions(site: Site) -> dict[str, str]:
    """File under Asterisk's configuration directory -> text appended to it (created if missing)."""
    return {
        "pjsip.conf": pjsip_conf(site),
        "extensions.conf": extensions_conf(site),
        "http.conf": http_conf(site),
        "ari.conf": ari_conf(site),
        "manager.d/hotline.conf": manager_conf(site),
        "queues.conf": queues_conf(),
        "rtp.conf": rtp_conf(),
    }
