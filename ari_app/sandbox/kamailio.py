"""Kamailio in front of several Asterisk nodes: its configuration and its process.

The proxy does three things (README, "Several Asterisk nodes"):

- **Dispatcher.** A new call from outside (a citizen, a carrier) goes to one of the nodes, round
  robin; every node is probed with OPTIONS every ``ping_seconds``; a node that does not answer is
  marked down (and a call sent to it in the meantime moves on to the next node: failure route).
- **Registrar.** Agent phones register here (digest, the agent's SIP password from the install's
  ``secrets.env``), never on a node. A node rings an agent by sending the INVITE here
  (``sip:agent-1001@<proxy>``, a static contact on every node); the proxy looks the phone up. An
  agent that is not registered gets 404 (OPTIONS) or 480 (INVITE), never a node.
- **Record-routing.** The proxy stays in the path of the dialogs it set up.

Calls from an agent phone (feature codes ``*72``...) are authenticated here and sent to a node,
which knows the agent by the From user. The Debian package's own service is never used: this
module runs ``kamailio -f CFG -P PIDFILE -DD -E`` with a configuration of its own on a free port.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ari_app.sandbox.proc import wait_until

MODULE_DIRS = ("/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/aarch64-linux-gnu/kamailio/modules",
               "/usr/lib/kamailio/modules")
MODULES = ("tm", "tmx", "sl", "rr", "maxfwd", "pv", "textops", "siputils", "xlog", "usrloc", "registrar",
           "dispatcher", "auth", "htable", "kex", "ctl", "corex")
REALM = "hotline"
NODE_SET = 1  # the dispatcher set of the Asterisk nodes


class KamailioError(RuntimeError):
    pass


@dataclass(frozen=True)
class ProxyConfig:
    port: int
    run_dir: Path
    nodes: tuple[str, ...]  # SIP addresses of the Asterisk nodes, host:port
    agents: Mapping[str, str] = field(repr=False)  # SIP user (agent-1001, test-caller) -> password
    # The sandbox's stand-in carrier: a number a node dials out through the proxy (a return visit)
    # rings this registered account, whatever the number ("" = none: such a call gets 480).
    carrier_user: str = ""
    module_dir: str = MODULE_DIRS[0]
    host: str = "127.0.0.1"
    ping_seconds: int = 2  # OPTIONS to every node this often; a node down is found within about twice this
    fr_timer_ms: int = 2000  # a request unanswered this long fails (and, to a node, moves to the next)
    children: int = 2


def _quote(value: str) -> str:
    if any(c in value for c in '"\\\n\r'):
        raise ValueError(f"cannot put {value!r} in the proxy configuration")
    return value


def dispatcher_list(nodes: Sequence[str]) -> str:
    return "".join(f"{NODE_SET} sip:{node}\n" for node in nodes)


def render_config(cfg: ProxyConfig) -> str:
    """The whole kamailio.cfg (it holds the agents' passwords: written 0600)."""
    loads = "\n".join(f'loadmodule "{m}.so"' for m in MODULES)
    test_caller = ' || $fU == "test-caller"' if "test-caller" in cfg.agents else ""
    carrier = ""
    if cfg.carrier_user:
        carrier = ("    # The sandbox's carrier: a number dialled out by a node rings this account.\n"
                   f'    if (is_method("INVITE") && $rU =~ "^[+]?[0-9]+$") {{\n'
                   f'        $rU = "{_quote(cfg.carrier_user)}";\n'
                   "    }\n")
    passwords = "\n".join(f'    $sht(agents=>{_quote(user)}) = "{_quote(pw)}";'
                          for user, pw in sorted(cfg.agents.items()))
    return f"""#!KAMAILIO
# Rendered by the hotline sandbox (ari_app/sandbox/kamailio.py): SIP proxy in front of the nodes.
debug=2
log_stderror=yes
memdbg=5
memlog=5
children={cfg.children}
disable_tcp=yes
auto_aliases=no
listen=udp:{cfg.host}:{cfg.port}
alias="{cfg.host}:{cfg.port}"
server_header="Server: hotline-proxy"
user_agent_header="User-Agent: hotline-proxy"

mpath="{cfg.module_dir}/"
{loads}

modparam("ctl", "binrpc", "unix:{cfg.run_dir}/kamailio_ctl")
modparam("tm", "fr_timer", {cfg.fr_timer_ms})
modparam("tm", "fr_inv_timer", 60000)
modparam("rr", "append_fromtag", 1)
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_contacts", 1)
modparam("registrar", "max_expires", 3600)
modparam("dispatcher", "list_file", "{cfg.run_dir}/dispatcher.list")
modparam("dispatcher", "flags", 2)
modparam("dispatcher", "ds_ping_interval", {cfg.ping_seconds})
modparam("dispatcher", "ds_probing_mode", 1)
modparam("dispatcher", "ds_probing_threshold", 1)
modparam("dispatcher", "ds_inactive_threshold", 1)
modparam("dispatcher", "ds_ping_reply_codes", "class=2")
modparam("dispatcher", "ds_ping_from", "sip:proxy@{cfg.host}")
modparam("htable", "htable", "agents=>size=8;")

event_route[htable:mod-init] {{
{passwords}
}}

request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    if (!is_method("ACK")) {{
        if (t_precheck_trans()) {{
            t_check_trans();
            exit;
        }}
        t_check_trans();
    }}
    if (has_totag()) {{
        route(IN_DIALOG);
        exit;
    }}
    if (is_method("REGISTER")) {{
        route(REGISTER);
        exit;
    }}
    if (ds_is_from_list("{NODE_SET}")) {{
        route(TO_AGENT);
        exit;
    }}
    if (is_method("OPTIONS") && $rU == $null) {{
        sl_send_reply("200", "OK");
        exit;
    }}
    if ($fU =~ "^agent-"{test_caller}) {{
        route(AUTHENTICATE);
    }}
    if (!is_method("INVITE")) {{
        sl_send_reply("405", "Method Not Allowed");
        exit;
    }}
    route(TO_NODE);
}}

route[IN_DIALOG] {{
    if (loose_route()) {{
        t_relay();
        exit;
    }}
    if (is_method("ACK")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    sl_send_reply("404", "Not here");
}}

# An agent phone registers here, as itself only.
route[REGISTER] {{
    if (!pv_www_authenticate("{REALM}", "$sht(agents=>$au)", "0") || $au != $tU) {{
        www_challenge("{REALM}", "0");
        exit;
    }}
    consume_credentials();
    if (!save("location")) {{
        sl_reply_error();
    }}
}}

# A request from an agent phone (a feature code, a call): the phone's own password, as itself.
route[AUTHENTICATE] {{
    if (!pv_www_authenticate("{REALM}", "$sht(agents=>$au)", "0") || $au != $fU) {{
        www_challenge("{REALM}", "0");
        exit;
    }}
    consume_credentials();
}}

# A node rings (or qualifies) an agent: only a registered phone, never back to a node.
route[TO_AGENT] {{
{carrier}    if (!lookup("location")) {{
        if (is_method("INVITE")) {{
            sl_send_reply("480", "Temporarily Unavailable");
        }} else {{
            sl_send_reply("404", "Not Found");
        }}
        exit;
    }}
    if (is_method("INVITE")) {{
        record_route();
    }}
    t_relay();
}}

# A new call from outside: to a node that answers its probes, the next one if it does not answer.
route[TO_NODE] {{
    if (!ds_select_dst("{NODE_SET}", "4")) {{
        sl_send_reply("503", "No node available");
        exit;
    }}
    record_route();
    t_on_failure("NODE_FAILED");
    t_relay();
}}

failure_route[NODE_FAILED] {{
    if (t_is_canceled()) {{
        exit;
    }}
    if (t_branch_timeout() || t_check_status("503")) {{
        xlog("L_WARN", "node $du failed ($T_reply_code) for $ci: marked down, next node\\n");
        ds_mark_dst("ip");
        if (ds_next_dst()) {{
            t_on_failure("NODE_FAILED");
            t_relay();
            exit;
        }}
    }}
}}
"""


def module_dir() -> str:
    for candidate in MODULE_DIRS:
        if Path(candidate, "dispatcher.so").exists():
            return candidate
    raise KamailioError("Kamailio is not installed (no dispatcher.so): run scripts/bootstrap --test")


def kamailio_binary() -> str:
    path = shutil.which("kamailio") or ("/usr/sbin/kamailio" if os.path.exists("/usr/sbin/kamailio") else "")
    if not path:
        raise KamailioError("Kamailio is not installed: run scripts/bootstrap --test")
    return path


@dataclass
class KamailioSandbox:
    """One Kamailio process with its own configuration, pid file and log, in ``run_dir``."""

    config: ProxyConfig
    process: subprocess.Popen[bytes] | None = None

    @property
    def run_dir(self) -> Path:
        return self.config.run_dir

    @property
    def address(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "kamailio.log"

    def write(self) -> Path:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "dispatcher.list").write_text(dispatcher_list(self.config.nodes), encoding="utf-8")
        cfg = self.run_dir / "kamailio.cfg"
        cfg.touch(mode=0o600)
        cfg.write_text(render_config(self.config), encoding="utf-8")
        return cfg

    def start(self, timeout: float = 20) -> None:
        cfg = self.write()
        binary = kamailio_binary()
        check = subprocess.run([binary, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise KamailioError(f"kamailio refused its configuration:\n{check.stderr[-2000:]}")
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [binary, "-f", str(cfg), "-P", str(self.run_dir / "kamailio.pid"), "-DD", "-E"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        try:
            wait_until(self._answers, timeout, interval=0.1, what="Kamailio to answer OPTIONS")
        except TimeoutError:
            self.stop()
            raise KamailioError(f"Kamailio did not start; see {self.log_path}") from None

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise KamailioError(f"Kamailio exited with {self.process.returncode}; see {self.log_path}")
        return options_ping(self.config.host, self.config.port)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM to the main process stops every worker; SIGKILL to the group if it does not."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


def options_ping(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something answers a SIP OPTIONS on host:port/udp (any final response)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        sock.settimeout(timeout)
        local = sock.getsockname()[1]
        message = (f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {host}:{local};branch=z9hG4bK-ping{local}\r\n"
                   f"From: <sip:ping@{host}>;tag=p{local}\r\nTo: <sip:{host}:{port}>\r\n"
                   f"Call-ID: ping-{local}@{host}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        try:
            sock.sendto(message.encode(), (host, port))
            data = sock.recv(4096)
        except OSError:
            return False
        return data.startswith(b"SIP/2.0 ")
