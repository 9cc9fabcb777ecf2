"""Properties of the pure Resolve job state machine (no database, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.errors import InvalidTransition
from daemon.jobs import state as jobs

T0 = datetime(2025, 1, 1, tzinfo=UTC)
POLICY = jobs.Policy(lease_seconds=10, max_attempts=3)
AGENTS = ["a", "b"]

agent_or_none = st.sampled_from([*AGENTS, None])
actions = st.one_of(
    st.builds(jobs.Claim, st.sampled_from(AGENTS)),
    st.builds(jobs.Heartbeat, agent_or_none),
    st.builds(jobs.Complete, agent_or_none),
    st.builds(jobs.Fail, st.just("boom"), agent_or_none),
    st.builds(jobs.Release, agent_or_none),
    st.just(jobs.Cancel()),
    st.just(jobs.Expire()),
)
# (seconds to wait before the action, the action)
steps = st.lists(st.tuples(st.sampled_from([0, 1, 5, 9.999, 10, 30]), actions), max_size=40)
policies = st.builds(
    jobs.Policy, st.sampled_from([0.5, 10, 120]), st.integers(min_value=1, max_value=5)
)


def check_invariants(state: jobs.JobState, policy: jobs.Policy) -> None:
    assert state.status in jobs.STATUSES
    assert 0 <= state.attempts <= policy.max_attempts
    assert (state.lease_expires_at is not None) == (state.status == jobs.CLAIMED)
    assert (state.finished_at is not None) == (state.status in jobs.TERMINAL)
    if state.status == jobs.PENDING:
        assert state.claimed_by is None and state.claimed_at is None
    if state.status == jobs.CLAIMED:
        assert state.claimed_by is not None and state.attempts >= 1
    if state.status == jobs.FAILED:
        assert state.error
    if state.status == jobs.DONE:
        assert state.error is None


def run(
    history: list[tuple[float, jobs.Action]], policy: jobs.Policy = POLICY
) -> list[tuple[jobs.JobState, jobs.Action, jobs.JobState | None]]:
    """Apply every step; (before, action, after-or-None-if-refused) per step."""
    state, now, trace = jobs.JobState(), T0, []
    for wait, action in history:
        now += timedelta(seconds=wait)
        try:
            after: jobs.JobState | None = jobs.transition(state, action, now, policy)
        except InvalidTransition:
            after = None
        trace.append((state, action, after))
        if after is not None:
            state = after
    return trace


@settings(max_examples=250, deadline=None)
@given(steps, policies)
def test_no_sequence_reaches_an_illegal_state(
    history: list[tuple[float, jobs.Action]], policy: jobs.Policy
) -> None:
    for before, _action, after in run(history, policy):
        check_invariants(before, policy)
        if after is not None:
            check_invariants(after, policy)
            assert (before.status, after.status) in jobs.EDGES


@settings(max_examples=150, deadline=None)
@given(steps)
def test_terminal_states_stay_terminal(history: list[tuple[float, jobs.Action]]) -> None:
    for before, _action, after in run(history):
        if before.status in jobs.TERMINAL:
            assert after is None


@settings(max_examples=150, deadline=None)
@given(steps)
def test_attempts_only_grow_by_claims_and_shrink_by_release(
    history: list[tuple[float, jobs.Action]],
) -> None:
    for before, action, after in run(history):
        if after is None:
            continue
        delta = after.attempts - before.attempts
        if isinstance(action, jobs.Claim):
            assert delta == 1
        elif isinstance(action, jobs.Release):
            assert delta == -1
        else:
            assert delta == 0


@settings(max_examples=150, deadline=None)
@given(steps)
def test_only_the_holder_may_act_on_a_claim(history: list[tuple[float, jobs.Action]]) -> None:
    for before, action, after in run(history):
        agent = getattr(action, "agent", None)
        if isinstance(action, jobs.Claim) or agent is None or after is None:
            continue
        assert before.claimed_by == agent


def test_an_abandoned_job_fails_after_max_attempts_with_a_reason() -> None:
    state, now = jobs.JobState(), T0
    for attempt in range(1, POLICY.max_attempts + 1):
        state = jobs.transition(state, jobs.Claim("a"), now, POLICY)
        assert state.attempts == attempt
        with pytest.raises(InvalidTransition):
            jobs.transition(state, jobs.Expire(), now + timedelta(seconds=9.9), POLICY)
        now += timedelta(seconds=10)
        state = jobs.transition(state, jobs.Expire(), now, POLICY)
    assert state.status == jobs.FAILED
    assert state.error is not None
    assert "lease expired 3 times" in state.error and "'a'" in state.error


def test_heartbeat_keeps_a_claim_alive_past_its_first_lease() -> None:
    state = jobs.transition(jobs.JobState(), jobs.Claim("a"), T0, POLICY)
    for second in range(8, 80, 8):
        state = jobs.transition(state, jobs.Heartbeat("a"), T0 + timedelta(seconds=second), POLICY)
    assert not jobs.lease_expired(state, T0 + timedelta(seconds=80))
    done = jobs.transition(state, jobs.Complete("a"), T0 + timedelta(seconds=81), POLICY)
    assert done.status == jobs.DONE and done.attempts == 1


def test_release_refunds_the_attempt_and_late_heartbeats_are_refused() -> None:
    claimed = jobs.transition(jobs.JobState(), jobs.Claim("a"), T0, POLICY)
    released = jobs.transition(claimed, jobs.Release("a"), T0, POLICY)
    assert released == jobs.JobState()
    late = T0 + timedelta(seconds=10)
    with pytest.raises(InvalidTransition, match="lease has expired"):
        jobs.transition(claimed, jobs.Heartbeat("a"), late, POLICY)
    with pytest.raises(InvalidTransition, match="claimed by 'a', not 'b'"):
        jobs.transition(claimed, jobs.Complete("b"), T0, POLICY)


def test_cancel_while_claimed_refuses_the_holders_heartbeat() -> None:
    claimed = jobs.transition(jobs.JobState(), jobs.Claim("a"), T0, POLICY)
    canceled = jobs.transition(claimed, jobs.Cancel(), T0, POLICY)
    assert canceled.status == jobs.CANCELED
    with pytest.raises(InvalidTransition, match="job is canceled"):
        jobs.transition(canceled, jobs.Heartbeat("a"), T0, POLICY)
