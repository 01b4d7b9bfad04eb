"""The ``hotline`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import asyncpg

from ari_app import logs
from ari_app.settings import Settings, SettingsError, default_state_dir, read_secrets_file


def _cmd_serve(_args: argparse.Namespace) -> int:
    from ari_app.service import serve

    settings = Settings.from_env()
    logs.configure(settings.log_level)
    asyncio.run(serve(settings))
    return 0


def _dsn() -> str:
    import os

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

    records = asyncio.run(fetch())
    if args.json:
        json.dump(records, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    if not records:
        print("no calls recorded")
        return 0
    print(f"{'started':<26} {'hotline':<9} {'caller':<14} {'route':<10} {'outcome':<24} call_id")
    for r in records:
        print(
            f"{str(r['started_at'])[:26]:<26} {r['hotline']!s:<9} {r['caller']!s:<14} {r['route']!s:<10} "
            f"{r['outcome'] or 'in progress'!s:<24} {r['call_id']}"
        )
    return 0


def _cmd_up(_args: argparse.Namespace) -> int:
    from ari_app.sandbox.devstack import up

    return up()


def _cmd_check_config(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ari_app.registry.loader import RegistryError, load_registry
    from ari_app.registry.summary import format_summary
    from ari_app.settings import REPO_ROOT

    path = Path(args.file) if args.file else REPO_ROOT / "config" / "hotlines.yaml"
    try:
        registry = load_registry(path)
    except RegistryError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in {path}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"hotline: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(format_summary(registry))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description="12345 hotline call control on Asterisk")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the Stasis app, FastAGI and HTTP servers").set_defaults(func=_cmd_serve)
    calls = sub.add_parser("calls", help="print the latest call records")
    calls.add_argument("--last", type=int, default=20, metavar="N", help="how many (default 20)")
    calls.add_argument("--json", action="store_true", help="JSON output")
    calls.add_argument("--events", action="store_true", help="include each call's events")
    calls.set_defaults(func=_cmd_calls)
    sub.add_parser("up", help="local Asterisk + PostgreSQL + serve in the foreground").set_defaults(func=_cmd_up)
    check = sub.add_parser("check-config", help="validate the hotline registry and print a summary")
    check.add_argument("file", nargs="?", help="registry file (default: config/hotlines.yaml)")
    check.set_defaults(func=_cmd_check_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except SettingsError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # ServiceError, SandboxError: a clear sentence, no traceback
        print(f"hotline: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
