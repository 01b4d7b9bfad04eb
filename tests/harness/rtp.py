"""The caller's ear: the package's RTP sink (ari_app/scenarios/rtp.py), shared with `hotline scenario`."""

from ari_app.scenarios.rtp import RtpSink

__all__ = ["RtpSink"]
