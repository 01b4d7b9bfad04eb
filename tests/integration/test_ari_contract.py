"""Every REST path and method the ARI client uses exists in the live Asterisk's /ari/api-docs."""

from __future__ import annotations

from ari_app.ari import endpoints
from tests.harness.services import Stack


def _declared_operations(stack: Stack) -> set[tuple[str, str]]:
    resources = stack.ari.get("/api-docs/resources.json")
    operations: set[tuple[str, str]] = set()
    for api in resources["apis"]:
        name = api["path"].rsplit("/", 1)[-1].replace("{format}", "json")
        declaration = stack.ari.get(f"/api-docs/{name}")
        for entry in declaration["apis"]:
            for operation in entry["operations"]:
                operations.add((operation["httpMethod"], entry["path"]))
    return operations


def test_every_client_endpoint_exists_in_live_api_docs(stack: Stack) -> None:
    declared = _declared_operations(stack)
    assert len(declared) > 50, f"api-docs looks empty: {len(declared)} operations"
    missing = [f"{e.method} {e.path}" for e in endpoints.ALL if (e.method, e.path) not in declared]
    assert not missing, f"the ARI client uses operations Asterisk does not declare: {missing}"


def test_contract_check_would_catch_a_wrong_path(stack: Stack) -> None:
    declared = _declared_operations(stack)
    assert ("POST", "/channels/{channelId}/answer") in declared
    assert ("POST", "/channels/{channelId}/answerr") not in declared
    assert ("GET", "/channels/{channelId}/answer") not in declared
