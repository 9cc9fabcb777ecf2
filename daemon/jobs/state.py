"""The Resolve job state machine: plain states, actions and one pure transition function.

    pending ──claim──> claimed ──complete──> done
       ^  │              │  │──fail──────> failed
       │  │              │  └─expire (attempts = max)──> failed
       │  └──cancel──┐   └──cancel──> canceled
       └── release / expire (attempts < max) ──┘ (from claimed)

Every other (state, action) pair raises ``InvalidTransition``; done, failed and canceled are
terminal. A claim is a lease: it counts one attempt and lasts ``lease_seconds`` unless renewed
by a heartbeat. ``release`` (the agent hands back a job it has not started) refunds the attempt
its claim counted, so stopping an agent never uses up a job's attempts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from daemon.catalog.values import JobStatus
from daemon.errors import InvalidTransition

PENDING = JobStatus.PENDING
CLAIMED = JobStatus.CLAIMED
DONE = JobStatus.DONE
FAILED = JobStatus.FAILED
CANCELED = JobStatus.CANCELED
STATUSES = (PENDING, CLAIMED, DONE, FAILED, CANCELED)
TERMINAL = frozenset({DONE, FAILED, CANCELED})
# Every (from, to) status change a transition may make.
EDGES = frozenset(
    {
        (PENDING, CLAIMED),
        (PENDING, CANCELED),
        (CLAIMED, CLAIMED),  # heartbeat
        (CLAIMED, PENDING),  # release, expiry
        (CLAIMED, DONE),
        (CLAIMED, FAILED),
        (CLAIMED, CANCELED),
    }
)


@dataclass(frozen=True)
class Policy:
    """How long a claim lasts and how many claims a job gets."""

    lease_seconds: float
    max_attempts: int


@dataclass(frozen=True)
class JobState:
    """The part of a job the state machine decides about."""

    status: str = PENDING
    attempts: int = 0
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    lease_expires_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class Claim:
    agent: str


@dataclass(frozen=True)
class Heartbeat:
    agent: str | None = None


@dataclass(frozen=True)
class Complete:
    agent: str | None = None


@dataclass(frozen=True)
class Fail:
    error: str
    agent: str | None = None


@dataclass(frozen=True)
class Release:
    agent: str | None = None


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Expire:
    pass


Action = Claim | Heartbeat | Complete | Fail | Release | Cancel | Expire


def action_name(action: Action) -> str:
    return type(action).__name__.lower()


def lease_expired(state: JobState, now: datetime) -> bool:
    """True when a claimed job's lease has run out at ``now``."""
    return (
        state.status == CLAIMED
        and state.lease_expires_at is not None
        and now >= state.lease_expires_at
    )


def _refuse(state: JobState, action: Action, why: str = "") -> InvalidTransition:
    reason = why or f"job is {state.status}"
    return InvalidTransition(
        f"cannot {action_name(action)}: {reason}",
        job_status=state.status,
        action=action_name(action),
    )


def _held(state: JobState, action: Action, agent: str | None, now: datetime) -> None:
    """Refuse unless the job is claimed, its lease is live, and (if named) by ``agent``."""
    if state.status != CLAIMED:
        raise _refuse(state, action)
    if agent is not None and agent != state.claimed_by:
        raise _refuse(state, action, f"job is claimed by {state.claimed_by!r}, not {agent!r}")
    if lease_expired(state, now):
        raise _refuse(state, action, "its lease has expired")


def _unclaimed(state: JobState) -> JobState:
    return replace(state, status=PENDING, claimed_by=None, claimed_at=None, lease_expires_at=None)


def _finished(state: JobState, status: str, now: datetime, error: str | None) -> JobState:
    return replace(state, status=status, lease_expires_at=None, finished_at=now, error=error)


def _expire(state: JobState, action: Action, now: datetime, policy: Policy) -> JobState:
    if not lease_expired(state, now):
        raise _refuse(state, action, "no expired lease")
    if state.attempts < policy.max_attempts:
        return _unclaimed(state)
    claimed_at = state.claimed_at.isoformat() if state.claimed_at else "?"
    reason = (
        f"lease expired {state.attempts} times; agent {state.claimed_by!r} stopped "
        f"heartbeating (last claimed at {claimed_at}); check that a resolve-agent is "
        "running and can reach this server, then open the job again"
    )
    return _finished(state, FAILED, now, reason)


def transition(state: JobState, action: Action, now: datetime, policy: Policy) -> JobState:
    """The state after ``action`` at ``now``, or ``InvalidTransition`` if it is not allowed."""
    lease = timedelta(seconds=policy.lease_seconds)
    match action:
        case Claim(agent):
            if state.status != PENDING or state.attempts >= policy.max_attempts:
                raise _refuse(state, action)
            return replace(
                state,
                status=CLAIMED,
                attempts=state.attempts + 1,
                claimed_by=agent,
                claimed_at=now,
                lease_expires_at=now + lease,
            )
        case Heartbeat(agent):
            _held(state, action, agent, now)
            return replace(state, lease_expires_at=now + lease)
        case Complete(agent):
            _held(state, action, agent, now)
            return _finished(state, DONE, now, None)
        case Fail(error, agent):
            _held(state, action, agent, now)
            return _finished(state, FAILED, now, error)
        case Release(agent):
            _held(state, action, agent, now)
            return replace(_unclaimed(state), attempts=max(state.attempts - 1, 0))
        case Cancel():
            if state.status not in (PENDING, CLAIMED):
                raise _refuse(state, action)
            return _finished(state, CANCELED, now, None)
        case Expire():
            return _expire(state, action, now, policy)
    raise _refuse(state, action, "unknown action")
