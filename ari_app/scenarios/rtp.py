"""A UDP socket that stands in for a SIP phone's media port and measures the audio it receives.

SIPp advertises this port in its SDP, so Asterisk sends the caller's audio here. Counting RTP
packets and the energy of their G.711 payload tells whether the caller really heard a prompt.
"""

from __future__ import annotations

import math
import socket
import threading
from dataclasses import dataclass, field


def _ulaw_to_linear(byte: int) -> int:
    byte = ~byte & 0xFF
    sign = byte & 0x80
    exponent = (byte >> 4) & 0x07
    mantissa = byte & 0x0F
    sample = ((mantissa << 3) + 0x84) << exponent
    sample -= 0x84
    return -sample if sign else sample


_ULAW = [_ulaw_to_linear(b) for b in range(256)]


@dataclass
class RtpSink:
    host: str = "127.0.0.1"  # the address the caller's SDP offers (the local address toward the target)
    sock: socket.socket = field(init=False)
    packets: int = 0
    voiced_packets: int = 0  # packets whose payload RMS is above a silence threshold
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.host, 0))
        self.sock.settimeout(0.2)

    @property
    def port(self) -> int:
        port: int = self.sock.getsockname()[1]
        return port

    def start(self) -> RtpSink:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            if len(data) <= 12 or data[0] >> 6 != 2:
                continue
            payload_type = data[1] & 0x7F
            self.packets += 1
            if payload_type == 0:  # PCMU
                payload = data[12:]
                rms = math.sqrt(sum(_ULAW[b] ** 2 for b in payload) / len(payload))
                if rms > 200:
                    self.voiced_packets += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        self.sock.close()

    @property
    def voiced_seconds(self) -> float:
        return self.voiced_packets * 0.02
