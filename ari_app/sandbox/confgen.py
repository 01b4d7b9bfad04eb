"""Render a complete Asterisk configuration for one sandbox run.

Paths are as Asterisk sees them (inside the chroot when the sandbox runs the Debian sid root).
Everything binds to 127.0.0.1; ARI and AMI passwords come from the caller, never a constant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ari_app.registry.render import MEDIA_OPTIONS

# The explicit load list (autoload=no). Measured in the design brief to start in under 2 s and to
# hold load that a full autoload did not. Add a module here when the dialplan or the app needs it.
MODULES: tuple[str, ...] = (
    "res_sorcery_config", "res_sorcery_memory", "res_sorcery_astdb", "res_pjproject", "res_pjsip",
    "res_pjsip_session", "res_pjsip_authenticator_digest", "res_pjsip_endpoint_identifier_ip",
    "res_pjsip_endpoint_identifier_user", "res_pjsip_sdp_rtp", "res_pjsip_dtmf_info",
    "res_pjsip_caller_id", "res_pjsip_logger", "res_pjsip_outbound_registration", "res_pjsip_registrar",
    "res_pjsip_pubsub", "res_pjsip_refer", "res_rtp_asterisk", "chan_pjsip", "codec_ulaw", "codec_alaw",
    "codec_gsm", "format_gsm", "format_wav", "format_pcm", "format_sln", "pbx_config", "app_dial",
    "app_playback", "app_stasis", "app_queue", "app_echo", "app_verbose", "app_exec", "app_stack",
    "func_callerid", "func_channel", "func_logic", "func_strings", "func_global", "func_dialplan", "func_uri",
    "func_devstate", "func_env", "res_security_log",
    "res_http_websocket", "res_stasis", "res_stasis_answer",
    "res_stasis_playback", "res_stasis_recording", "res_stasis_snoop", "res_websocket_client", "res_ari",
    "res_ari_model", "res_ari_applications", "res_ari_asterisk", "res_ari_bridges", "res_ari_channels",
    "res_ari_endpoints", "res_ari_events", "res_ari_playbacks", "res_ari_recordings", "res_ari_sounds",
    "res_ari_device_states", "res_stasis_device_state", "res_musiconhold", "bridge_simple",
    "bridge_softmix", "bridge_holding", "chan_bridge_media", "bridge_native_rtp", "res_agi", "res_speech",
    "res_timing_timerfd", "res_manager_devicestate",
)

DIALPLAN_FRAGMENTS_DIR = "dialplan"
CALL_SPOOL = "spool/hotline-calls.csv"  # under the run directory: the dialplan's call spool


@dataclass(frozen=True)
class SipPeer:
    """A PJSIP endpoint with a static contact: an agent phone or a department line."""

    name: str
    contact: str  # e.g. sip:agent-1001@127.0.0.1:5071
    context: str = "hotline-agents"
    dtmf_mode: str = "rfc4733"  # "info" for phones that send DTMF as SIP INFO


@dataclass(frozen=True)
class AsteriskConfig:
    base: PurePosixPath  # the run directory as Asterisk sees it
    module_dir: str
    sip_port: int
    http_port: int
    ami_port: int
    agi_url: str
    ari_user: str
    ari_password: str
    ami_user: str
    ami_password: str
    rtp_start: int
    ari_app: str = "hotline"
    dialplan_files: tuple[str, ...] = ()
    peers: tuple[SipPeer, ...] = field(default_factory=tuple)
    sip_host: str = "127.0.0.1"  # SIP and RTP bind here (HOTLINE_SIP_HOST)
    trunk_match: tuple[str, ...] = ("127.0.0.1",)  # addresses let in as the carrier trunk, unauthenticated
    test_caller_password: str = field(default="", repr=False)  # "" = no test-caller account
    system_name: str = ""  # asterisk.conf systemname: channel ids become <system_name>-<epoch>.<seq>
    sip_proxy: str = ""  # several nodes: host:port of the SIP proxy the phones (and the test caller) register at

    @property
    def etc(self) -> PurePosixPath:
        return self.base / "etc"


def render_all(cfg: AsteriskConfig) -> dict[str, str]:
    """File name (under etc/) -> contents."""
    return {
        "asterisk.conf": asterisk_conf(cfg),
        "modules.conf": modules_conf(),
        "logger.conf": logger_conf(),
        "http.conf": http_conf(cfg),
        "ari.conf": ari_conf(cfg),
        "manager.conf": manager_conf(cfg),
        "pjsip.conf": pjsip_conf(cfg),
        "rtp.conf": rtp_conf(cfg),
        "extensions.conf": extensions_conf(cfg),
        "musiconhold.conf": musiconhold_conf(cfg),
        "queues.conf": "[general]\npersistentmembers=no\n#tryinclude \"hotline-queues.conf\"\n",
        "stasis.conf": "",
        "indications.conf": "[general]\ncountry=cn\n[cn]\ndescription=China\nringcadence=1000,4000\n"
        "dial=450\nbusy=450/350,0/350\nring=450/1000,0/4000\ncongestion=450/700,0/700\n",
        "ccss.conf": "",
        "features.conf": "",
        "pjproject.conf": "",
        "res_stun_monitor.conf": "",
        "udptl.conf": "",
        "acl.conf": "",
        "cdr.conf": "[general]\nenable=no\n",
        "cel.conf": "[general]\nenable=no\n",
    }


def asterisk_conf(cfg: AsteriskConfig) -> str:
    b = cfg.base
    return f"""; Rendered by the hotline sandbox. One directory per run.
[directories]
astetcdir => {b}/etc
astmoddir => {cfg.module_dir}
astvarlibdir => {b}/varlib
astdbdir => {b}/varlib
astkeydir => {b}/varlib
astdatadir => {b}/data
astagidir => {b}/data/agi-bin
astspooldir => {b}/spool
astrundir => {b}/run
astlogdir => {b}/log
astsbindir => /usr/sbin

[options]
verbose = 3
debug = 0
maxfiles = 8192
transmit_silence = yes
documentation_language = en_US
hideconnect = yes
""" + (f"systemname = {cfg.system_name}\n" if cfg.system_name else "")


def modules_conf() -> str:
    loads = "\n".join(f"load = {m}.so" for m in MODULES)
    return f"[modules]\nautoload = no\n{loads}\n"


def logger_conf() -> str:
    return """[general]
dateformat = %F %T.%3q

[logfiles]
console => notice,warning,error
messages.log => notice,warning,error,verbose(3)
security.log => security
"""


def http_conf(cfg: AsteriskConfig) -> str:
    return f"""[general]
enabled = yes
bindaddr = 127.0.0.1
bindport = {cfg.http_port}
"""


def ari_conf(cfg: AsteriskConfig) -> str:
    return f"""[general]
enabled = yes
pretty = no
websocket_write_timeout = 1000

[{cfg.ari_user}]
type = user
read_only = no
password = {cfg.ari_password}
password_format = plain
"""


def manager_conf(cfg: AsteriskConfig) -> str:
    return f"""[general]
enabled = yes
bindaddr = 127.0.0.1
port = {cfg.ami_port}

[{cfg.ami_user}]
secret = {cfg.ami_password}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = system,call,agent,user,config,dtmf,reporting,originate,security
write = system,call,agent,user,config,command,reporting,originate
"""


TEST_CALLER = "test-caller"  # a softphone account that dials the hotline numbers as a citizen would
RETURN_VISIT_TRUNK = "return-visit"  # the outbound trunk of config/return_visits.yaml, in the sandbox


def pjsip_conf(cfg: AsteriskConfig) -> str:
    """Transport, the carrier trunk (let in by address), the test caller and static peers.

    Requests are identified by the endpoint they name before any match by address
    (``endpoint_identifier_order = username,ip``): on one host the trunk, the agents' phones and
    the test caller share an address, and a match by address first would make every phone the trunk.
    """
    parts = [
        f"""[global]
type = global
endpoint_identifier_order = username,ip
user_agent = hotline12345

[transport-udp]
type = transport
protocol = udp
bind = {cfg.sip_host}:{cfg.sip_port}

[media-defaults](!)
{MEDIA_OPTIONS}
media_address = {cfg.sip_host}
bind_rtp_to_media_address = yes

; Callers arrive through the trunk: SIP from the carrier addresses that names no known endpoint.
; By address only: a request from elsewhere that names "trunk" as its user is not let in.
[trunk](media-defaults)
type = endpoint
context = hotline-inbound
identify_by = ip
"""
    ]
    if cfg.trunk_match:
        parts.append(f"[trunk-identify]\ntype = identify\nendpoint = trunk\nmatch = {','.join(cfg.trunk_match)}\n")
    if cfg.test_caller_password and cfg.sip_proxy:
        parts.append(
            f"""; The test-caller softphone registers at the SIP proxy, which checks its password and sends its
; calls here as the trunk's (one proxy challenge, not one per node); the node reaches it there.
[{TEST_CALLER}]
type = aor
contact = sip:{TEST_CALLER}@{cfg.sip_proxy}
"""
        )
    elif cfg.test_caller_password:
        parts.append(
            f"""; A softphone that calls the hotline numbers as a citizen, through the trunk's inbound path.
[{TEST_CALLER}](media-defaults)
type = endpoint
context = hotline-inbound
auth = {TEST_CALLER}
aors = {TEST_CALLER}
rewrite_contact = yes

[{TEST_CALLER}]
type = auth
auth_type = userpass
username = {TEST_CALLER}
password = {cfg.test_caller_password}

[{TEST_CALLER}]
type = aor
max_contacts = 1
remove_existing = yes
"""
        )
    if cfg.test_caller_password and not any(p.name == RETURN_VISIT_TRUNK for p in cfg.peers):
        parts.append(
            f"""; Return visits go out through this trunk (config/return_visits.yaml): in the sandbox they ring
; the test-caller softphone, whatever number they dial. A test gives its own peer of this name.
[{RETURN_VISIT_TRUNK}](media-defaults)
type = endpoint
context = hotline-department
identify_by = ip
aors = {TEST_CALLER}
"""
        )
    for peer in cfg.peers:
        parts.append(
            f"""[{peer.name}](media-defaults)
type = endpoint
context = {peer.context}
dtmf_mode = {peer.dtmf_mode}
aors = {peer.name}

[{peer.name}]
type = aor
contact = {peer.contact}
"""
        )
    parts.append('#tryinclude "hotline-pjsip.conf"\n#tryinclude "hotline-agents.conf"\n')
    return "\n".join(parts)


def rtp_conf(cfg: AsteriskConfig) -> str:
    return f"""[general]
rtpstart = {cfg.rtp_start}
rtpend = {cfg.rtp_start + 1998}
icesupport = no
stunaddr =
"""


def extensions_conf(cfg: AsteriskConfig) -> str:
    includes = "\n".join(f'#include "{DIALPLAN_FRAGMENTS_DIR}/{name}"' for name in cfg.dialplan_files)
    return f"""[general]
static = yes
writeprotect = yes
clearglobalvars = yes

[globals]
HOTLINE_AGI = {cfg.agi_url}
HOTLINE_APP = {cfg.ari_app}
HOTLINE_DEGRADED_QUEUE = hotline-degraded
HOTLINE_CALL_SPOOL = {cfg.base}/{CALL_SPOOL}

{includes}
#tryinclude "hotline-numbers.conf"
"""


def musiconhold_conf(cfg: AsteriskConfig) -> str:
    return f"""[default]
mode = files
directory = {cfg.base}/data/moh
sort = alpha
"""
