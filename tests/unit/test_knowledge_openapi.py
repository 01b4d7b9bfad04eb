"""The knowledge routes' OpenAPI paths name every route ``add_knowledge_routes`` serves, and nothing else."""

from __future__ import annotations

import re

from aiohttp import web

from ari_app.knowledge.openapi import knowledge_paths
from ari_app.knowledge.routes import add_knowledge_routes

METHODS = {"get", "post", "put", "patch", "delete"}
ALTERNATIVES = re.compile(r"\(\?P<(\w+)>([\w|]+)\)")  # aiohttp's {name:a|b|c} in a route's regex


def _served() -> set[tuple[str, str]]:
    app = web.Application()
    add_knowledge_routes(app, lambda: None)
    found: set[tuple[str, str]] = set()
    for route in app.router.routes():
        if route.method.lower() not in METHODS or route.resource is None:
            continue
        info = route.resource.get_info()
        paths = [str(info.get("formatter") or info.get("path"))]
        pattern = info.get("pattern")
        for name, choices in ALTERNATIVES.findall(pattern.pattern if pattern is not None else ""):
            paths = [p.replace(f"{{{name}}}", choice) for p in paths for choice in choices.split("|")]
        found.update((route.method.lower(), p) for p in paths)
    return found


def test_every_knowledge_route_is_documented_and_nothing_else() -> None:
    documented = {(method, path) for path, ops in knowledge_paths().items() for method in ops if method in METHODS}
    served = _served()
    assert ("post", "/knowledge/entries/{id}/approve") in served and ("get", "/knowledge/search") in served
    assert served == documented


def test_each_operation_documents_its_errors_and_the_503() -> None:
    for path, ops in knowledge_paths().items():
        for method, op in ops.items():
            statuses = set(op["responses"])
            assert {"400", "401", "403", "503"} <= statuses, (method, path)
            if method == "post":
                assert "413" in statuses, path
                assert "actor" not in op["requestBody"]["content"]["application/json"]["schema"]["properties"], path
            if "{id}" in path:
                assert "404" in statuses, (method, path)
