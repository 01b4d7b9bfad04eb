"""/metrics against a live stack: a caller waiting shows in the queue gauges, an agent answering
in the agents by state, and the call in the calls counter and the answer latency histogram."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from tests.harness.agents import AgentSpec
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack


def scrape(q: QueueStack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics without logging in (the test runs on the service's host)."""
    with urllib.request.urlopen(q.serve.http + "/metrics", timeout=5) as response:
        assert response.status == 200
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def sample(q: QueueStack, name: str, **labels: str) -> float:
    return scrape(q).get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_call_moves_the_metrics(queue_stack: Callable[..., QueueStack]) -> None:
    q = queue_stack([AgentSpec("1001", hold_ms=800)])
    first = scrape(q)
    assert first[("hotline_ari_connected", ())] == 1 and first[("hotline_database_up", ())] == 1
    assert first[("hotline_agents", (("state", "logged_out"),))] == 1
    calls = first.get(("hotline_calls_total", (("hotline", "12345"), ("route", "intake"))), 0.0)
    answered = first.get(("hotline_answer_latency_seconds_count", ()), 0.0)

    caller, sipp = q.call()
    q.wait_event(caller, "queued")
    waiting = wait_for(lambda: sample(q, "hotline_queue_waiting", hotline="12345") == 1 and scrape(q), 10,
                       "the caller in the queue gauge")
    assert waiting[("hotline_queue_waiting_total", ())] == 1
    assert waiting[("hotline_calls_total", (("hotline", "12345"), ("route", "intake")))] == calls + 1
    assert waiting[("hotline_answer_latency_seconds_count", ())] == answered + 1
    total = ("hotline_answer_latency_seconds_sum", ())
    latency = waiting[total] - first.get(total, 0.0)
    assert 0 <= latency < 5, latency
    wait_for(lambda: sample(q, "hotline_queue_longest_wait_seconds", hotline="12345") > 0, 10, "a wait that grows")

    q.login("1001")
    assert sipp.wait(60).returncode == 0
    assert q.record(caller)["outcome"] == "answered"
    after = scrape(q)
    assert after[("hotline_queue_waiting_total", ())] == 0
    assert after.get(("hotline_queue_waiting", (("hotline", "12345"),)), 0.0) == 0
    assert after[("hotline_agents", (("state", "logged_out"),))] == 0  # logged in: ready, busy or in wrap-up
