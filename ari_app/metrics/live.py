"""Figures read at each scrape: the queue, the agents, the ARI connection, the calls in progress."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ari_app.acd.engine import Acd
from ari_app.acd.model import AgentState


@dataclass(frozen=True)
class Snapshot:
    waiting: dict[str, int] = field(default_factory=dict)  # hotline -> callers waiting
    longest_wait: dict[str, float] = field(default_factory=dict)  # hotline -> seconds
    agents: dict[str, int] = field(default_factory=dict)  # state -> agents
    ari_connects: int = 0
    ari_connected: bool = False
    database_up: bool = False
    active_calls: int = 0
    failed_flows: int = 0


def snapshot(acd: Acd | None, readiness: Mapping[str, object]) -> Snapshot:
    waiting: Tally[str] = Tally()
    longest: dict[str, float] = {}
    agents = {state.value: 0 for state in AgentState}
    if acd is not None:
        now = acd.now()
        for call in acd.waiting():
            waiting[call.hotline] += 1
            longest[call.hotline] = max(longest.get(call.hotline, 0.0), max(0.0, now - call.enqueued_at))
        for agent in acd.agents.values():
            agents[agent.state.value] += 1

    def number(key: str) -> int:
        value = readiness.get(key, 0)
        return value if isinstance(value, int) else 0

    return Snapshot(dict(waiting), longest, agents, number("ari_connects"), readiness.get("ari") is True,
                    readiness.get("database") is True, number("active_calls"), number("failed_flows"))


class LiveCollector(Collector):
    """Yields one :class:`Snapshot` as metric families (a collector per scrape)."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        s = self.snap
        waiting = GaugeMetricFamily("hotline_queue_waiting", "Callers waiting in the queue, by number dialled",
                                    labels=["hotline"])
        longest = GaugeMetricFamily("hotline_queue_longest_wait_seconds", "The longest wait now, by number dialled",
                                    labels=["hotline"])
        for hotline in sorted(s.waiting):
            waiting.add_metric([hotline], s.waiting[hotline])
            longest.add_metric([hotline], s.longest_wait.get(hotline, 0.0))
        yield waiting
        yield longest
        yield GaugeMetricFamily("hotline_queue_waiting_total", "Callers waiting in the queue",
                                value=sum(s.waiting.values()))
        agents = GaugeMetricFamily("hotline_agents", "Agents by state", labels=["state"])
        for state, count in s.agents.items():
            agents.add_metric([state], count)
        yield agents
        yield CounterMetricFamily("hotline_ari_connects", "ARI websocket connections made (the first, then reconnects)",
                                  value=s.ari_connects)
        yield CounterMetricFamily("hotline_ari_reconnects", "ARI websocket reconnections after the first connection",
                                  value=max(0, s.ari_connects - 1))
        yield GaugeMetricFamily("hotline_ari_connected", "1 when the Stasis app is connected",
                                value=int(s.ari_connected))
        yield GaugeMetricFamily("hotline_database_up", "1 when PostgreSQL answered the readiness probe",
                                value=int(s.database_up))
        yield GaugeMetricFamily("hotline_active_calls", "Calls the app is handling now", value=s.active_calls)
        yield CounterMetricFamily("hotline_failed_flows", "Call flows that raised", value=s.failed_flows)
