"""The ``hotline`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from ari_app import event_loop, logs
from ari_app.configcheck.problems import ConfigError
from ari_app.registry.warnings import LastGood
from ari_app.settings import Settings, SettingsError, default_state_dir, read_secrets_file


def _cmd_serve(_args: argparse.Namespace) -> int:
    from ari_app.service import serve

    settings = Settings.from_env()
    logs.configure(settings.log_level, cache=True)
    event_loop.run(serve(settings))
    return 0


def _dsn() -> str:
    dsn = os.environ.get("HOTLINE_DSN") or read_secrets_file(default_state_dir(os.environ) / "secrets.env").get(
        "HOTLINE_DSN", ""
    )
    if not dsn:
        raise SettingsError("HOTLINE_DSN is not set and scripts/up has not written one yet")
    return dsn


def _cmd_calls(args: argparse.Namespace) -> int:
    from ari_app.store.calls import CallStore

    async def fetch() -> list[dict[str, object]]:
        conn = await asyncpg.connect(_dsn(), timeout=10)
        try:
            store = CallStore(conn, node="")
            records = await store.latest(args.last)
            out: list[dict[str, object]] = []
            for record in records:
                item = record.to_json()
                if args.events:
                    item["events"] = await store.events(record.call_id)
                out.append(item)
            return out
        finally:
            await conn.close()

    from ari_app.cli_calls import format_calls

    records = asyncio.run(fetch())
    if args.json:
        json.dump(records, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    print(format_calls(records, args.events))
    return 0


def _cmd_up(args: argparse.Namespace) -> int:
    from ari_app.sandbox.devcluster import up_nodes

    return up_nodes(args.nodes)


def _cmd_check_config(args: argparse.Namespace) -> int:
    """Validate the registry, then the seats file against it; print a summary, or the problems.

    Warnings (what looks like an accident in a valid file) go to stderr and leave the exit status
    alone. A registry that passes is remembered in the state directory, to compare the next with.
    """
    from ari_app.registry.loader import load_registry
    from ari_app.registry.summary import format_summary
    from ari_app.registry.warnings import registry_warnings
    from ari_app.seats.crosscheck import crosscheck, describe_seats
    from ari_app.settings import REPO_ROOT

    path = Path(args.file or os.environ.get("HOTLINE_REGISTRY") or REPO_ROOT / "config" / "hotlines.yaml")
    seats_path = Path(args.seats or os.environ.get("HOTLINE_SEATS") or path.parent / "seats.yaml")
    try:
        registry = load_registry(path)
        seats_text = seats_path.read_text(encoding="utf-8")
    except ConfigError as exc:
        return _report_problems(exc.problems, path)
    except OSError as exc:
        print(f"hotline: cannot read {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except UnicodeDecodeError as exc:
        print(f"hotline: {seats_path} is not UTF-8 text: {exc.reason}", file=sys.stderr)
        return 1
    state = default_state_dir(os.environ) / LAST_GOOD_REGISTRY
    check = crosscheck(registry, seats_text, str(seats_path))
    try:
        calendar_warnings = _work_calendar_warnings()
    except ConfigError as exc:
        return _report_problems(exc.problems, Path(exc.problems[0].file) if exc.problems else path)
    except OSError as exc:
        print(f"hotline: cannot read {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    warnings = [*registry_warnings(registry, _last_good(state)), *map(str, check.warnings), *calendar_warnings]
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if check.problems or check.seats is None:
        return _report_problems(check.problems, seats_path)
    print(format_summary(registry))
    print(describe_seats(check.seats))
    _remember_good(state, len(registry.hotlines), path)
    return 0


LAST_GOOD_REGISTRY = "last-good-registry.json"  # in the state directory, written by check-config


def _work_calendar_warnings() -> list[str]:
    """Check the return-visit settings, the working-day calendar and the work-order time limits
    (HOTLINE_RETURN_VISITS, HOTLINE_CALENDAR, HOTLINE_WORKORDERS); warn when the calendar does not
    reach today (HOTLINE_TODAY, if set) plus the longest time limit."""
    from datetime import date, datetime

    from ari_app.settings import Settings
    from ari_app.visits.policy import load_visit_policy
    from ari_app.workorders.calendar import load_calendar
    from ari_app.workorders.deadlines import check_config, load_limits

    load_visit_policy(Path(os.environ.get("HOTLINE_RETURN_VISITS") or Settings.return_visits_path))  # problems raise
    calendar = load_calendar(Path(os.environ.get("HOTLINE_CALENDAR") or Settings.calendar_path))
    limits = load_limits(Path(os.environ.get("HOTLINE_WORKORDERS") or Settings.workorders_path))
    pinned = os.environ.get("HOTLINE_TODAY", "")
    today = date.fromisoformat(pinned) if pinned else datetime.now(limits.zone).date()
    return check_config(calendar, limits, today)


def _last_good(state: Path) -> LastGood | None:
    """The last registry that passed check-config; None when there is none or the file is unreadable."""
    try:
        return LastGood.from_json(state.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def _remember_good(state: Path, hotlines: int, registry: Path) -> None:
    """Record a registry that passed; failing to do so is a warning, not a failed check."""
    text = LastGood(hotlines, str(registry.resolve())).to_json()
    try:
        state.parent.mkdir(parents=True, exist_ok=True)
        partial = state.with_name(state.name + ".tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(state)
    except OSError as exc:
        print(f"warning: cannot remember this registry in {state}: {exc.strerror or exc}", file=sys.stderr)


def _report_problems(problems: Sequence[object], where: Path | str) -> int:
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(problems)} problem(s) in {where}", file=sys.stderr)
    return 1


def _report_config_error(exc: ConfigError) -> int:
    """A registry or seats file with problems (render, reload, seats, ...): every problem, then the count."""
    files = sorted({problem.file for problem in exc.problems})
    return _report_problems(exc.problems, ", ".join(files) or "the configuration")


def _env_or_state(name: str, default: str = "") -> str:
    return os.environ.get(name) or read_secrets_file(default_state_dir(os.environ) / "secrets.env").get(name, default)


def _cmd_render(args: argparse.Namespace) -> int:
    from ari_app.registry.loader import load_registry
    from ari_app.registry.render import write_all
    from ari_app.seats.loader import load_seats
    from ari_app.seats.phones import agent_passwords
    from ari_app.settings import REPO_ROOT

    settings_paths = _paths(args)
    registry = load_registry(settings_paths[0])
    seats = load_seats(settings_paths[1])
    passwords = agent_passwords(default_state_dir(os.environ), seats)
    for path in write_all(registry, seats, passwords, Path(args.out), dialplan=REPO_ROOT / "dialplan"):
        print(path)
    return 0


def _paths(args: argparse.Namespace) -> tuple[Path, Path]:
    from ari_app.settings import REPO_ROOT

    registry = Path(args.registry or os.environ.get("HOTLINE_REGISTRY") or REPO_ROOT / "config" / "hotlines.yaml")
    seats = Path(args.seats or os.environ.get("HOTLINE_SEATS") or REPO_ROOT / "config" / "seats.yaml")
    return registry, seats


def _cmd_reload(args: argparse.Namespace) -> int:
    from ari_app.ami.client import AmiTarget
    from ari_app.ami.nodes import ami_nodes_setting
    from ari_app.registry.deploy import reload_everything, show_report
    from ari_app.seats.loader import load_seats
    from ari_app.seats.phones import agent_passwords
    from ari_app.settings import REPO_ROOT

    registry_path, seats_path = _paths(args)
    nodes = ami_nodes_setting(_env_or_state("HOTLINE_AMI_NODES"))  # several nodes: reload every one
    out = args.out or _env_or_state("HOTLINE_ASTERISK_INCLUDE_DIR") or (str(nodes[0].include_dir) if nodes else "")
    if not out:
        raise SettingsError("say where Asterisk reads the include files: --out DIR or HOTLINE_ASTERISK_INCLUDE_DIR")
    secret = _env_or_state("HOTLINE_AMI_SECRET") or _env_or_state("HOTLINE_AMI_PASSWORD")
    if not secret:
        raise SettingsError("HOTLINE_AMI_SECRET is not set (the AMI user's secret in manager.conf)")
    user = _env_or_state("HOTLINE_AMI_USER", "hotline")
    target = AmiTarget(
        host=_env_or_state("HOTLINE_AMI_HOST", "127.0.0.1"),
        port=int(_env_or_state("HOTLINE_AMI_PORT", "5038")),
        user=user,
        secret=secret,
    )
    every = [(n.name, n.include_dir, AmiTarget(n.host, n.port, user, secret)) for n in nodes]
    service = None if args.no_service else (
        args.service or f"http://127.0.0.1:{_env_or_state('HOTLINE_HTTP_PORT', '8080')}"
    )
    seats = load_seats(seats_path)
    passwords = agent_passwords(default_state_dir(os.environ), seats)
    api_password = _env_or_state("HOTLINE_API_PASSWORD") or _env_or_state("HOTLINE_SUPERVISOR_PASSWORD")
    credentials = (_env_or_state("HOTLINE_API_USER", "supervisor"), api_password) if api_password else None
    report = asyncio.run(reload_everything(registry_path, Path(out), seats, passwords, target, service or None,
                                           credentials, force=args.force, dry_run=args.dry_run,
                                           dialplan=REPO_ROOT / "dialplan", nodes=every,
                                           agent_proxy=_env_or_state("HOTLINE_SIP_PROXY")))
    return show_report(report, args.dry_run)


def _cmd_seats(args: argparse.Namespace) -> int:
    """Each agent's softphone account: SIP user, password, server."""
    from ari_app.seats.loader import load_seats
    from ari_app.seats.phones import agent_passwords

    seats = load_seats(_paths(args)[1])
    passwords = agent_passwords(default_state_dir(os.environ), seats)
    server = f"{_env_or_state('HOTLINE_SIP_HOST', '127.0.0.1')}:{_env_or_state('HOTLINE_SIP_PORT', '5060')}"
    rows = [
        {"agent": a.id, "name": a.name, "sip_user": a.endpoint, "password": passwords[a.id], "server": server,
         "groups": list(a.groups), "seconded_by": a.seconded_by}
        for a in seats.agents
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    print(f"SIP server {server} (UDP), digest authentication; log in from the phone with *72.")
    print(f"{'agent':<7} {'SIP user':<12} {'password':<18} name")
    for row in rows:
        print(f"{row['agent']:<7} {row['sip_user']:<12} {row['password']:<18} {row['name']}")
    return 0


def _cmd_report_staffing(args: argparse.Namespace) -> int:
    """Seconded staff per merged number by the plan's rule against the seats; work orders per department."""
    from ari_app.registry.loader import load_registry
    from ari_app.reports.queries import fetch_facts
    from ari_app.reports.staffing import build_report
    from ari_app.reports.table import format_report
    from ari_app.seats.loader import load_seats

    registry_path, seats_path = _paths(args)
    try:
        registry, seats = load_registry(registry_path), load_seats(seats_path)
    except OSError as exc:
        print(f"hotline: cannot read {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    report = build_report(registry, seats, asyncio.run(fetch_facts(_dsn())))  # ReportDatabaseError: exit 1
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=2) if args.json else format_report(report))
    return 0


def _cmd_user(args: argparse.Namespace) -> int:
    """``hotline user ...``: accounts; a department is checked against the registry, an agent against the seats."""
    from ari_app.accounts.commands import References, UserCommandError, run_user_command

    def references() -> References:
        from ari_app.registry.loader import load_registry
        from ari_app.seats.loader import load_seats

        registry_path, seats_path = _paths(args)
        try:
            registry = load_registry(registry_path) if args.department else None
            agents = {a.id for a in load_seats(seats_path).agents} if args.agent else set()
        except OSError as exc:
            raise UserCommandError(f"cannot read {exc.filename}: {exc.strerror or exc}") from None

        def department(target: str) -> str:
            found = registry.department_for(target) if registry is not None else None
            if found is None:
                raise UserCommandError(f"unknown department {target!r}: not in {registry_path}")
            return found.id

        def agent(seat: str) -> str:
            if seat not in agents:
                raise UserCommandError(f"unknown agent {seat!r}: not in {seats_path}")
            return seat

        return References(department, agent)

    return run_user_command(args, _dsn, references)


def _cmd_doctor(args: argparse.Namespace) -> int:
    """Check the live deployment (Asterisk, ARI, AMI, FastAGI, PostgreSQL) and say what to fix."""
    from ari_app.doctor.model import exit_code, format_table, to_json
    from ari_app.doctor.runner import DoctorConfig, run_doctor

    checks = asyncio.run(run_doctor(DoctorConfig.from_env()))
    print(to_json(checks) if args.json else format_table(checks))
    return exit_code(checks)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description="12345 hotline call control on Asterisk")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the Stasis app, FastAGI and HTTP servers").set_defaults(func=_cmd_serve)
    calls = sub.add_parser("calls", help="print the latest call records")
    calls.add_argument("--last", type=int, default=20, metavar="N", help="how many (default 20)")
    calls.add_argument("--json", action="store_true", help="JSON output")
    calls.add_argument("--events", action="store_true", help="include each call's events")
    calls.set_defaults(func=_cmd_calls)
    up = sub.add_parser("up", help="local Asterisk + PostgreSQL + serve in the foreground")
    up.add_argument("--nodes", type=int, default=1, help="N Asterisk nodes behind a local Kamailio (default 1)")
    up.set_defaults(func=_cmd_up)
    check = sub.add_parser("check-config", help="validate the registry and the seats file, print a summary")
    check.add_argument("file", nargs="?", help="registry file (default: HOTLINE_REGISTRY or config/hotlines.yaml)")
    check.add_argument("--seats", help="seats file (default: HOTLINE_SEATS or seats.yaml next to the registry)")
    check.set_defaults(func=_cmd_check_config)
    render = sub.add_parser("render", help="write the dialplan/PJSIP/queue include files from the registry")
    render.add_argument("--out", default=".", help="directory to write into (default: current)")
    render.add_argument("--registry", help="registry file (default: HOTLINE_REGISTRY or config/hotlines.yaml)")
    render.add_argument("--seats", help="seats file (default: HOTLINE_SEATS or config/seats.yaml)")
    render.set_defaults(func=_cmd_render)
    reload = sub.add_parser("reload", help="validate, render, reload Asterisk over AMI and the running service")
    reload.add_argument("--out", help="Asterisk include directory (default: HOTLINE_ASTERISK_INCLUDE_DIR)")
    reload.add_argument("--registry", help="registry file (default: HOTLINE_REGISTRY or config/hotlines.yaml)")
    reload.add_argument("--seats", help="seats file (default: HOTLINE_SEATS or config/seats.yaml)")
    reload.add_argument("--service", help="URL of hotline serve (default: http://127.0.0.1:HOTLINE_HTTP_PORT)")
    reload.add_argument("--no-service", action="store_true", help="reload Asterisk only, not hotline serve")
    reload.add_argument("--force", action="store_true", help="apply even if the file removes hotline numbers")
    reload.add_argument("--dry-run", action="store_true", help="show what would change; write and reload nothing")
    reload.set_defaults(func=_cmd_reload)
    doctor = sub.add_parser("doctor", help="check the live deployment and say what to fix (exit 1 on a FAIL)")
    doctor.add_argument("--json", action="store_true", help="JSON output")
    doctor.set_defaults(func=_cmd_doctor)
    seats = sub.add_parser("seats", help="print each agent's softphone account (SIP user, password, server)")
    seats.add_argument("--seats", help="seats file (default: HOTLINE_SEATS or config/seats.yaml)")
    seats.add_argument("--registry", help=argparse.SUPPRESS)
    seats.add_argument("--json", action="store_true", help="JSON output")
    seats.set_defaults(func=_cmd_seats)
    report = sub.add_parser("report", help="reports from the records").add_subparsers(dest="report", required=True)
    staffing = report.add_parser("staffing", help="seconded staff by the plan's rule; work orders per department")
    staffing.add_argument("--json", action="store_true", help="JSON output")
    staffing.add_argument("--registry", help="registry file (default: HOTLINE_REGISTRY or config/hotlines.yaml)")
    staffing.add_argument("--seats", help="seats file (default: HOTLINE_SEATS or config/seats.yaml)")
    staffing.set_defaults(func=_cmd_report_staffing)
    from ari_app.accounts.commands import add_user_arguments
    from ari_app.scenarios.command import add_arguments as add_scenario_arguments

    add_scenario_arguments(sub.add_parser("scenario", help="run the SIP scenario catalogue against a live hotline"))

    user = sub.add_parser("user", help="accounts: add, passwd, disable, enable, list")
    add_user_arguments(user)
    user.set_defaults(func=_cmd_user)
    return parser


def main(argv: list[str] | None = None) -> int:
    from ari_app.deploy.envfile import load_env_file

    args = build_parser().parse_args(argv)
    try:
        if args.command != "up":  # the sandbox of scripts/up is not the server's deployment
            load_env_file()  # HOTLINE_ENV_FILE or /etc/hotline/hotline.env: shared by serve, reload, doctor
        code: int = args.func(args)
        return code
    except SettingsError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:  # the registry or the seats file has problems: each on its own line
        return _report_config_error(exc)
    except RuntimeError as exc:  # ServiceError, SandboxError: a clear sentence, no traceback
        print(f"hotline: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
