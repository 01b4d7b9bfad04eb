"""ari_app.calls.plan: what the reconcile step does with each channel found after a (re)connect."""

from __future__ import annotations

from ari_app.calls.legs import HOLDING_BRIDGE
from ari_app.calls.plan import Adopt, Found, plan

CALLER, OTHER = "1796030000.1", "1796030000.7"
AGENT, DEPT, STRAY = "agent-0a1b2c3d4e5f6a7b", "dept-1a2b3c4d5e6f7a8b", "agent-ffffffffffffffff"


def test_a_three_party_call_goes_on_talking_and_no_leg_is_taken_for_a_caller() -> None:
    found = Found([CALLER, AGENT, DEPT], {f"talk-{CALLER}": [CALLER, AGENT, DEPT]}, {CALLER: ("talking", 3)})
    assert plan(found).adopt == [Adopt(CALLER, "talking", AGENT, DEPT, talk=f"talk-{CALLER}")]
    assert plan(found).hang_up == []


def test_an_attended_transfer_keeps_the_caller_on_hold_with_agent_and_department_talking() -> None:
    bridges = {f"talk-{CALLER}": [AGENT, DEPT], f"xfer-{CALLER}": [CALLER]}
    found = Found([CALLER, AGENT, DEPT], bridges, {CALLER: ("talking", 3)})
    assert plan(found).adopt == [Adopt(CALLER, "talking", AGENT, DEPT, f"xfer-{CALLER}", f"talk-{CALLER}")]


def test_caller_and_department_after_the_agent_left_go_on_without_a_stored_row() -> None:
    found = Found([CALLER, DEPT], {f"talk-{CALLER}": [DEPT, CALLER]}, {})
    assert plan(found).adopt == [Adopt(CALLER, "talking", "", DEPT, talk=f"talk-{CALLER}")]


def test_waiting_callers_go_back_in_line_in_their_stored_order() -> None:
    found = Found([OTHER, CALLER], {f"hold-{OTHER}": [OTHER]}, {CALLER: ("waiting", 1), OTHER: ("waiting", 2)})
    assert plan(found).adopt == [Adopt(CALLER, "waiting"), Adopt(OTHER, "waiting")]


def test_a_caller_in_the_holding_bridge_without_a_row_waits_and_one_in_no_bridge_starts_over() -> None:
    found = Found([CALLER, OTHER], {HOLDING_BRIDGE: [CALLER]}, {})
    assert plan(found).adopt == [Adopt(CALLER, "waiting"), Adopt(OTHER, "")]
    assert plan(found).destroy == []  # the shared holding bridge is kept


def test_a_caller_in_its_own_holding_bridge_of_an_older_version_waits_and_that_bridge_goes() -> None:
    found = Found([CALLER, OTHER], {f"hold-{CALLER}": [CALLER], HOLDING_BRIDGE: [OTHER], f"talk-{OTHER}": []}, {})
    decided = plan(found)
    assert decided.adopt == [Adopt(CALLER, "waiting"), Adopt(OTHER, "waiting")]
    assert decided.destroy == [f"hold-{CALLER}"]


def test_a_stored_talking_call_whose_bridge_is_gone_waits_again() -> None:
    assert plan(Found([CALLER], {}, {CALLER: ("talking", 4)})).adopt == [Adopt(CALLER, "waiting")]


def test_legs_in_no_adopted_conversation_are_hung_up_but_owned_ones_are_left() -> None:
    found = Found([CALLER, AGENT, STRAY, DEPT], {f"talk-{CALLER}": [CALLER, AGENT]}, {CALLER: ("talking", 1)},
                  owned=frozenset({DEPT}))
    decided = plan(found)
    assert decided.adopt == [Adopt(CALLER, "talking", AGENT, talk=f"talk-{CALLER}")]
    assert decided.hang_up == [STRAY]


def test_channels_a_running_task_owns_are_not_adopted() -> None:
    found = Found([CALLER, AGENT], {f"talk-{CALLER}": [CALLER, AGENT]}, {CALLER: ("talking", 1)},
                  owned=frozenset({CALLER, AGENT}))
    assert plan(found).adopt == [] and plan(found).hang_up == []


def test_another_calls_bridge_is_not_this_callers_conversation() -> None:
    found = Found([CALLER], {f"talk-{OTHER}": [CALLER]}, {})
    assert plan(found).adopt == [Adopt(CALLER, "")]


def test_a_caller_being_asked_for_a_rating_is_asked_again_not_queued_anew() -> None:
    found = Found(["c1", "c2", "visit-0a1b"], {}, {"c2": ("waiting", 4)}, surveying=frozenset({"c1"}))
    decided = plan(found)
    assert decided.adopt == [Adopt("c1", "survey"), Adopt("c2", "waiting")]
    assert decided.hang_up == ["visit-0a1b"], "a return-visit leg nobody holds after a restart is hung up"


def test_a_later_conversation_is_found_in_its_own_bridge_and_an_earlier_one_left_behind_is_not_taken() -> None:
    later = f"talk-{CALLER}~2"  # after an escalation (legs.bridge_id)
    found = Found([CALLER, AGENT], {f"talk-{CALLER}": [], later: [CALLER, AGENT]}, {CALLER: ("talking", 2)})
    assert plan(found).adopt == [Adopt(CALLER, "talking", AGENT, talk=later)]


def test_on_hold_in_a_second_transfer_the_newest_conversation_is_the_one() -> None:
    bridges = {f"talk-{CALLER}": [], f"talk-{CALLER}~3": [AGENT, DEPT], f"xfer-{CALLER}~2": [CALLER]}
    found = Found([CALLER, AGENT, DEPT], bridges, {CALLER: ("talking", 3)})
    assert plan(found).adopt == [Adopt(CALLER, "talking", AGENT, DEPT, f"xfer-{CALLER}~2", f"talk-{CALLER}~3")]


def test_a_bridge_of_a_call_whose_id_begins_like_this_one_is_not_this_calls() -> None:
    longer = CALLER + "2"  # 1796030000.12 after 1796030000.1
    found = Found([CALLER, AGENT], {f"talk-{longer}": [CALLER, AGENT], f"talk-{CALLER}~x": [CALLER]}, {})
    assert plan(found).adopt == [Adopt(CALLER, "")]
