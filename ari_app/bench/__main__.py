"""``scripts/bench [--rates 10,20,...] [--talk S] [--duration S] [--agents N] [--paths stasis,queue] [--out DIR]``

Starts its own PostgreSQL, Asterisk sandbox, ``hotline serve`` and SIPp agent phones, ramps SIPp
callers through the Stasis path and the app_queue path in turn, writes results.json, table.md and
latency.png into ``OUT/<time>/`` (and ``OUT/latest/``), and stops everything it started, also on
Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from types import FrameType

from ari_app.bench.output import table, write
from ari_app.bench.run import Options, run_ramp
from ari_app.bench.stack import PATHS
from ari_app.settings import REPO_ROOT

DEFAULT_RATES = "10,15,20,25,30,35,40"
# hotline serve does not start with more agents than this: it subscribes to every agent phone's
# device state in one ARI request, and Asterisk takes at most 128 event sources in one
# (ari_app/acd/phones.py; "Too many values for event_source"). Raise when that is fixed.
MAX_AGENTS = 128
DEFAULT_NUMBERS = "12345,12336"  # 12336: a whole-merge number, cancelled, straight to 12345 intake


def _csv(kind: type[float] | type[str], raw: str) -> tuple[object, ...]:
    try:
        items = tuple(kind(x.strip()) for x in raw.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of {kind.__name__}: {raw!r}") from None
    if not items:
        raise argparse.ArgumentTypeError("empty list")
    return items


def _rates(raw: str) -> tuple[float, ...]:
    rates = tuple(float(x) for x in _csv(float, raw))  # type: ignore[arg-type]
    if any(r <= 0 for r in rates):
        raise argparse.ArgumentTypeError("rates must be above 0")
    return tuple(sorted(set(rates)))


def _paths(raw: str) -> tuple[str, ...]:
    paths = tuple(str(x) for x in _csv(str, raw))
    unknown = [p for p in paths if p not in PATHS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown path {unknown[0]!r}: choose from {', '.join(PATHS)}")
    return tuple(p for p in PATHS if p in paths)


def _numbers(raw: str) -> tuple[str, ...]:
    numbers = tuple(str(x) for x in _csv(str, raw))
    if not all(n.isdigit() for n in numbers):
        raise argparse.ArgumentTypeError("numbers are digits")
    return numbers


def _audio(raw: str) -> float:
    if raw == "call":
        return -1.0
    try:
        seconds = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seconds or 'call', not {raw!r}") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError("above 0 seconds (Answer() waits for the caller's audio)")
    return seconds


def auto_agents(max_rate: float, talk_s: float) -> int:
    """Enough agents that no rate waits for a free one: the calls talking at once at the top rate
    (rate x (talk + half a second to ring, answer and clear)), plus ten."""
    return min(MAX_AGENTS, math.ceil(max_rate * (talk_s + 0.5)) + 10)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scripts/bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rates", type=_rates, default=_rates(DEFAULT_RATES),
                   help=f"call rates to ramp through, calls/s (default {DEFAULT_RATES})")
    p.add_argument("--talk", type=float, default=1.5, help="seconds an agent talks before hanging up (default 1.5)")
    p.add_argument("--duration", type=float, default=15.0,
                   help="seconds of new calls per step; each call then hears the greeting and talks (default 15)")
    p.add_argument("--agents", type=int, default=0,
                   help=f"agent phones (default: rate x (talk + 0.5) + 10 at the top rate; at most {MAX_AGENTS})")
    p.add_argument("--paths", type=_paths, default=PATHS, help="stasis,queue (default both)")
    p.add_argument("--numbers", type=_numbers, default=_numbers(DEFAULT_NUMBERS),
                   help=f"numbers the callers dial in turn (default {DEFAULT_NUMBERS})")
    p.add_argument("--patience", type=float, default=20.0,
                   help="seconds after the greeting a caller waits for an agent before hanging up (default 20)")
    p.add_argument("--caller-audio", type=_audio, default=0.5,
                   help="seconds of audio each caller sends once answered, or 'call' for the whole call (default 0.5)")
    p.add_argument("--rating", action="store_true",
                   help="on the Stasis path, ask callers to rate the call after the agent hangs up (the app's "
                        "default; off here so that both paths end the call with the agent)")
    p.add_argument("--hold", type=int, default=0, metavar="N",
                   help="instead of the ramp: N callers waiting at once on the Stasis path, nobody answering "
                        "(e.g. 500); see --hold-for and --hold-rate")
    p.add_argument("--hold-for", type=float, default=60.0,
                   help="seconds each caller of the hold run waits after the greeting (default 60)")
    p.add_argument("--hold-rate", type=float, default=25.0, help="calls/s at which the hold run dials in (default 25)")
    p.add_argument("--budget", type=float, default=540.0,
                   help="seconds: no step starts that would end later than this into the run (default 540)")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results",
                   help="results folder: OUT/<time>/ and OUT/latest/ (default bench/results)")
    return p


def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.talk <= 0 or args.duration <= 0 or args.patience <= 0 or not 0 <= args.agents <= MAX_AGENTS:
        parser().error(f"--talk, --duration and --patience must be above 0, --agents 1 to {MAX_AGENTS} "
                       "(hotline serve does not start with more: see MAX_AGENTS in ari_app/bench/__main__.py)")
    if args.hold < 0 or args.hold_for <= 0 or args.hold_rate <= 0:
        parser().error("--hold must be 0 or more, --hold-for and --hold-rate above 0")
    agents = args.agents or (1 if args.hold else auto_agents(max(args.rates), args.talk))
    options = Options(args.rates, args.talk, args.duration, agents, args.paths, args.numbers, args.patience,
                      args.budget, args.caller_audio, args.rating, args.hold, args.hold_rate, args.hold_for)
    folder = args.out / datetime.now().strftime("%Y%m%d-%H%M%S")
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    began = time.monotonic()
    rates = ", ".join(f"{r:g}" for r in args.rates)
    what = f"hold run of {args.hold} callers" if args.hold else f"rates {rates} calls/s"
    _say(f"results in {folder}; {agents} agents, {what}")
    try:
        results = run_ramp(options, folder / "logs", _say)
    except KeyboardInterrupt:
        _say("interrupted; everything started was stopped")
        return 130
    written = write(results, folder, args.out / "latest")
    print(table(results))
    _say(f"done in {time.monotonic() - began:.0f} s; wrote {', '.join(str(p) for p in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
