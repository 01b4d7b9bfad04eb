"""When has the target qualified a department line at the runner's department peer?

Asterisk keeps qualifying a line (SIP OPTIONS every ``qualify_frequency``) while nothing listens
at its address, and PJSIP retransmits each unanswered OPTIONS (every T2 = 4 s at the most) for up
to 32 s. So when the peer starts, the first OPTIONS it receives are mostly retransmissions of
qualifies that already timed out at the target: answering them does not make the line reachable,
and the dialplan, which skips a line whose device state is UNAVAILABLE, still overflows the call
to 12345 intake without ringing the peer. Only an OPTIONS first sent after the peer was listening
counts, and only such an OPTIONS is certain to arrive later than one retransmission interval after
that moment (each older transaction has been retransmitted, answered and ended by then). The line
is qualified once such a fresh OPTIONS has been answered and the target has asked again (it has
taken the answer in).
"""

from __future__ import annotations

import re
from datetime import datetime

RETRANSMIT_MAX_S = 4.0  # PJSIP's T2: the longest gap between two sends of one OPTIONS
MARGIN_S = 2.0  # a loaded machine sends a retransmission late
_BLOCK = re.compile(r"^-{10,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*$", re.M)


def options_times(trace: str, line: str) -> list[float]:
    """When (epoch seconds, this machine's clock) the peer received an OPTIONS for ``line``,
    from SIPp's message trace."""
    times = []
    parts = _BLOCK.split(trace)
    wanted = re.compile(rf"^OPTIONS sip:{re.escape(line)}@", re.M)
    for stamp, block in zip(parts[1::2], parts[2::2], strict=False):
        if "message received" in block and wanted.search(block):
            times.append(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp())
    return times


def qualified(received: list[float], listening_since: float) -> bool:
    """Whether the target has surely found the line reachable: an OPTIONS received more than a
    retransmission interval (plus a margin) after the peer listened, then one more."""
    fresh = [t for t in received if t - listening_since > RETRANSMIT_MAX_S + MARGIN_S]
    return len(fresh) >= 2
