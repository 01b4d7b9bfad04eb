"""ari_app.ari.endpoints: the table of ARI operations is well formed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ari_app.ari import endpoints as ep


def test_all_is_not_empty_and_collects_every_module_endpoint() -> None:
    declared = {name: v for name, v in vars(ep).items() if isinstance(v, ep.Endpoint)}
    assert len(declared) >= 10
    assert set(ep.ALL) == set(declared.values())
    assert len(ep.ALL) == len(declared)


def test_every_listed_endpoint_is_used_by_the_client() -> None:
    """The list is the contract the live test checks: nothing in it that the client never calls."""
    client = Path(ep.__file__).parent
    source = "".join((client / name).read_text(encoding="utf-8") for name in ("rest.py", "stream.py"))
    unused = [name for name, v in vars(ep).items() if isinstance(v, ep.Endpoint) and f"ep.{name}" not in source]
    assert not unused, unused


def test_methods_and_paths_are_valid() -> None:
    for endpoint in ep.ALL:
        assert endpoint.method in {"GET", "POST", "DELETE", "PUT"}, endpoint
        assert endpoint.path.startswith("/"), endpoint
        assert not endpoint.path.startswith("/ari/"), endpoint  # paths are relative to the /ari base
        assert " " not in endpoint.path, endpoint


def test_no_duplicate_operations() -> None:
    counts = Counter((e.method, e.path) for e in ep.ALL)
    duplicates = [op for op, n in counts.items() if n > 1]
    assert duplicates == []


def test_format_fills_path_parameters() -> None:
    assert ep.CHANNEL_ANSWER.format(channelId="1700000000.42") == "/channels/1700000000.42/answer"
    assert ep.BRIDGE_ADD_CHANNEL.format(bridgeId="b-1") == "/bridges/b-1/addChannel"
    assert ep.EVENTS_WEBSOCKET.path == "/events"
