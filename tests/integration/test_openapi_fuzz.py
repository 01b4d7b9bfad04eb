"""Fuzz the running service from its own OpenAPI document (schemathesis): every operation gets
generated valid and invalid requests; no answer may be a 5xx, and every answer must have a documented
status and a body of the documented shape. (Unknown query parameters are ignored by the service, so
schemathesis' "invalid input accepted" check is not applied here; that invalid values of known
fields are refused with a 4xx is asserted route by route in test_http_input.py.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.generation import GenerationMode

from tests.harness.services import ServeProcess

pytestmark = pytest.mark.integration

EXAMPLES = 15  # per operation and mode: about 40 operations, a few hundred requests in all
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_operation_answers_5xx_or_off_its_schema(live: ServeProcess, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{live.http}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    tried: list[str] = []

    @given(data=st.data())
    @settings(max_examples=EXAMPLES * len(operations), deadline=None, suppress_health_check=list(HealthCheck))
    def run(data: st.DataObject) -> None:
        operation = data.draw(st.sampled_from(operations))
        case = data.draw(operation.as_strategy(generation_mode=mode))
        tried.append(operation.label)
        case.call_and_validate(checks=CHECKS)

    run()
    print(f"{mode.value}: {len(tried)} requests over {len(set(tried))} operations")
    assert live.get("/healthz")[0] == 200
