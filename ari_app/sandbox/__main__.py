"""``scripts/asterisk-sandbox build|start|stop|cli``: the sandbox Asterisk by hand.

start runs a named sandbox in the background with this install's credentials (state dir
secrets.env) and prints where it listens; stop and cli address it by name.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from ari_app.sandbox import state as install_state
from ari_app.sandbox.asterisk import AsteriskSandbox, SandboxError, build_root, system_asterisk
from ari_app.sandbox.proc import free_port, free_port_both
from ari_app.settings import default_state_dir


def _existing(name: str) -> AsteriskSandbox:
    values = install_state.load_or_create(default_state_dir(os.environ))
    sandbox = AsteriskSandbox.create(
        name, sip_port=0, http_port=0, ami_port=0, agi_port=0,
        ari_password=values["HOTLINE_ARI_PASSWORD"], ami_password=values["HOTLINE_AMI_PASSWORD"],
    )
    if not (sandbox.run_dir / "etc" / "asterisk.conf").exists():
        raise SandboxError(f"no sandbox named {name!r} (looked in {sandbox.run_dir})")
    return sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="asterisk-sandbox")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build (once) the Debian sid root with Asterisk 22, unless a system asterisk exists")
    start = sub.add_parser("start", help="start a named sandbox in the background")
    start.add_argument("name", nargs="?", default="dev")
    stop = sub.add_parser("stop", help="stop a named sandbox")
    stop.add_argument("name", nargs="?", default="dev")
    cli = sub.add_parser("cli", help="run an Asterisk CLI command in a named sandbox")
    cli.add_argument("name")
    cli.add_argument("cli_command", nargs="+")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            system = system_asterisk()
            print(f"using system Asterisk {system}" if system else f"Asterisk root ready in {build_root()}")
        elif args.command == "start":
            values = install_state.load_or_create(default_state_dir(os.environ))
            sandbox = AsteriskSandbox.create(
                args.name,
                sip_port=int(os.environ.get("HOTLINE_SIP_PORT") or free_port_both()),
                http_port=int(os.environ.get("HOTLINE_ARI_PORT") or free_port()),
                ami_port=int(os.environ.get("HOTLINE_AMI_PORT") or free_port()),
                agi_port=int(os.environ.get("HOTLINE_AGI_PORT") or 4573),
                ari_password=values["HOTLINE_ARI_PASSWORD"],
                ami_password=values["HOTLINE_AMI_PASSWORD"],
            )
            sandbox.start()
            print(f"sandbox {args.name}: SIP udp 127.0.0.1:{sandbox.sip_port}, ARI {sandbox.ari_url} "
                  f"(user hotline, password in {default_state_dir(os.environ)}/secrets.env), "
                  f"AMI 127.0.0.1:{sandbox.ami_port}, logs {sandbox.log_dir}")
        elif args.command == "stop":
            sandbox = _existing(args.name)
            pid_file = sandbox.run_dir / "run" / "asterisk.pid"
            print(sandbox.cli("core stop now").strip() or f"sandbox {args.name} stopped")
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        elif args.command == "cli":
            print(_existing(args.name).cli(" ".join(args.cli_command)), end="")
    except SandboxError as exc:
        print(f"asterisk-sandbox: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
