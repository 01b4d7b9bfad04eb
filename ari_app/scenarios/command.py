"""`hotline scenario list` and `hotline scenario run`: the arguments and what each prints."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ari_app import logs
from ari_app.sandbox.asterisk import TEST_CALLER_KEY
from ari_app.scenarios.loader import load_catalogue
from ari_app.scenarios.report import progress_line, summary_table, write_junit
from ari_app.scenarios.runner import Result, RunConfig, run_all
from ari_app.settings import REPO_ROOT, default_state_dir, read_secrets_file

CATALOGUE = REPO_ROOT / "tests" / "scenarios"
PEERS = REPO_ROOT / "tests" / "sipp"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="scenario_command", required=True)
    listing = sub.add_parser("list", help="the scenarios of the catalogue, with what each checks")
    listing.add_argument("--catalogue", type=Path, default=CATALOGUE, help=f"scenario folders (default {CATALOGUE})")
    listing.set_defaults(func=cmd_list)
    run = sub.add_parser("run", help="run scenarios (all, or those named) against a live hotline")
    run.add_argument("names", nargs="*", metavar="NAME", help="scenario folder names (default: all)")
    run.add_argument("--target", default="", help="Asterisk SIP address HOST:PORT (default HOTLINE_SIP_HOST:"
                     "HOTLINE_SIP_PORT, from the environment or scripts/up's secrets; else 127.0.0.1:5060)")
    run.add_argument("--dsn", default=None, help="PostgreSQL URL: also check call records (default HOTLINE_DSN "
                     "or scripts/up's secrets; '' to skip)")
    run.add_argument("--junit", type=Path, help="write JUnit XML here")
    run.add_argument("--secrets", type=Path, help="file with HOTLINE_AGENT_<id>_PASSWORD lines (default: "
                     "the state directory's secrets.env, as scripts/up writes it)")
    run.add_argument("--department", default="127.0.0.1:5099", help="address the registry's department lines "
                     "point at, where department seats are played (default 127.0.0.1:5099)")
    run.add_argument("--trunk", default="", help="address the target's outbound trunk (config/return_visits.yaml) "
                     "rings, where the citizen of return-visit and callback scenarios is played (default: the "
                     "citizen registers as test-caller, which the sandbox's trunk rings)")
    run.add_argument("--http", default="", help="the target's HTTP API for the scenarios' HTTP steps (default "
                     "http://HOTLINE_HTTP_HOST:HOTLINE_HTTP_PORT, else http://127.0.0.1:8080); needs --dsn, where "
                     "the runner makes its scenario-* accounts")
    run.add_argument("--today", type=date.fromisoformat, help="the target's date, YYYY-MM-DD (default: "
                     "HOTLINE_TODAY or today in Asia/Shanghai): picks the dated expectations")
    run.add_argument("--jobs", type=int, default=4, help="scenarios without peers run this many at a time")
    run.add_argument("--artifacts", type=Path, default=Path("scenario-artifacts"),
                     help="where the SIPp traces of failed scenarios are kept (default ./scenario-artifacts)")
    run.add_argument("--catalogue", type=Path, default=CATALOGUE, help=argparse.SUPPRESS)
    run.set_defaults(func=cmd_run)


def cmd_list(args: argparse.Namespace) -> int:
    scenarios = load_catalogue(args.catalogue, PEERS)  # ConfigError: file:line: path: message, exit 1
    width = max(len(s.name) for s in scenarios) if scenarios else 8
    for s in scenarios:
        peers = [f"agent {a.id}" for a in s.agents] + (["department"] if s.department else [])
        peers += ["citizen"] if s.citizen else []
        extra = f" [{', '.join(peers)}]" if peers else ""
        needs = f" Needs: {s.needs}" if s.needs else ""
        print(f"{s.name:<{width}}  {s.expect.dial or '-':<8} {s.description}{extra}{needs}")
    print(f"{len(scenarios)} scenarios in {args.catalogue}")
    return 0


def _address(text: str, what: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"hotline: {what} must be HOST:PORT, got {text!r}")
    return host, int(port)


def cmd_run(args: argparse.Namespace) -> int:
    logs.configure(os.environ.get("HOTLINE_LOG_LEVEL", "warning"))
    secrets = read_secrets_file(args.secrets or default_state_dir(os.environ) / "secrets.env")
    passwords = {k.removeprefix("HOTLINE_AGENT_").removesuffix("_PASSWORD"): v for k, v in secrets.items()
                 if k.startswith("HOTLINE_AGENT_") and k.endswith("_PASSWORD")}
    for password in passwords.values():
        logs.register_secret(password)
    setting = {**secrets, **{k: v for k, v in os.environ.items() if k.startswith("HOTLINE_")}}
    default = f"{setting.get('HOTLINE_SIP_HOST') or '127.0.0.1'}:{setting.get('HOTLINE_SIP_PORT') or 5060}"
    target = _address(args.target or default, "--target")
    dsn = args.dsn if args.dsn is not None else os.environ.get("HOTLINE_DSN") or secrets.get("HOTLINE_DSN", "")
    pinned = os.environ.get("HOTLINE_TODAY", "")
    today = args.today or (date.fromisoformat(pinned) if pinned else datetime.now(ZoneInfo("Asia/Shanghai")).date())
    scenarios = load_catalogue(args.catalogue, PEERS, args.names)
    http = args.http or (f"http://{setting.get('HOTLINE_HTTP_HOST') or '127.0.0.1'}:"
                          f"{setting.get('HOTLINE_HTTP_PORT') or 8080}")
    citizen_password = secrets.get(TEST_CALLER_KEY, "")
    logs.register_secret(citizen_password)
    config = RunConfig(target=target, peers=PEERS, artifacts=args.artifacts.resolve(), today=today,
                       department_address=_address(args.department, "--department"), dsn=dsn,
                       agent_passwords=passwords, jobs=args.jobs, http=http,
                       trunk=_address(args.trunk, "--trunk") if args.trunk else None,
                       citizen_password=citizen_password)
    where = f"{target[0]}:{target[1]}"
    print(f"running {len(scenarios)} scenario(s) against {where} as of {today}"
          f"{', checking call records' if dsn else ', no database: call records not checked'}", flush=True)
    done: list[Result] = []
    lock = threading.Lock()

    def progress(result: Result) -> None:
        with lock:  # scenarios end in several threads: one line each, numbered in the order printed
            done.append(result)
            print(progress_line(result, len(done), len(scenarios)), flush=True)

    results = run_all(scenarios, config, progress)
    print()
    print(summary_table(results))
    if args.junit:
        write_junit(results, args.junit, where)
        print(f"JUnit XML: {args.junit}")
    sys.stdout.flush()
    return 0 if all(r.passed for r in results) else 1
