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


def _ulaw_tone(hz: int = 1000, amplitude: int = 8000) -> bytes:
    """One 20 ms PCMU frame of a sine tone (8 kHz): clearly voiced to any receiver."""
    samples = [round(amplitude * math.sin(2 * math.pi * hz * n / 8000)) for n in range(160)]

    def code(sample: int) -> int:
        return min(range(256), key=lambda c: abs(_ULAW[c] - sample))

    return bytes(code(s) for s in samples)


@dataclass
class RtpSink:
    host: str = "127.0.0.1"  # the address the caller's SDP offers (the local address toward the target)
    sock: socket.socket = field(init=False)
    packets: int = 0
    voiced_packets: int = 0  # packets whose payload RMS is above a silence threshold
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _talker: threading.Thread | None = None

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

    def talk(self, host: str, port: int) -> None:
        """Send a tone to ``host:port`` (the other end's RTP) from this port, 50 packets a second, until
        stopped: from the port the SDP advertised, as a phone does (symmetric RTP keeps answering here)."""
        frame = _ulaw_tone()

        def run() -> None:
            seq, stamp, ssrc = 1, 0, 0x5EED0000 + self.port
            clock = threading.Event()
            while not self._stop.is_set():
                header = bytes([0x80, 0]) + seq.to_bytes(2, "big") + stamp.to_bytes(4, "big") + ssrc.to_bytes(4, "big")
                try:
                    self.sock.sendto(header + frame, (host, port))
                except OSError:
                    return
                seq, stamp = (seq + 1) & 0xFFFF, (stamp + 160) & 0xFFFFFFFF
                clock.wait(0.02)  # the media clock: one 20 ms frame at a time

        self._talker = threading.Thread(target=run, daemon=True)
        self._talker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._talker is not None:
            self._talker.join(2)
        if self._thread is not None:
            self._thread.join(2)
        self.sock.close()

    @property
    def voiced_seconds(self) -> float:
        return self.voiced_packets * 0.02
