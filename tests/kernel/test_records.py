from __future__ import annotations

import pytest

from llmsh.kernel.records import (
    FINISHED,
    TRANSITIONS,
    IllegalTransition,
    JobState,
    Process,
    Progress,
    check_transition,
    parse_priority,
    priority_name,
)


@pytest.mark.parametrize("old", list(JobState))
@pytest.mark.parametrize("new", list(JobState))
def test_every_transition_is_legal_or_refused(old: JobState, new: JobState) -> None:
    if new in TRANSITIONS[old]:
        check_transition(old, new)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(old, new)


def test_finished_states_never_change() -> None:
    for state in FINISHED:
        assert TRANSITIONS[state] == frozenset()
        assert state.finished


def test_nothing_returns_to_queued_except_a_held_job() -> None:
    assert [s for s in JobState if JobState.QUEUED in TRANSITIONS[s]] == [JobState.PAUSED]


@pytest.mark.parametrize(
    ("text", "nice"),
    [("high", -10), ("normal", 0), ("low", 10), ("LOW", 10), ("-20", -20), ("19", 19), (5, 5)],
)
def test_parse_priority(text: str | int, nice: int) -> None:
    assert parse_priority(text) == nice


@pytest.mark.parametrize("text", ["urgent", "20", "-21", "", "1.5"])
def test_parse_priority_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="priority"):
        parse_priority(text)


def test_priority_name_round_trip() -> None:
    assert priority_name(-10) == "high"
    assert priority_name(3) == "3"


def test_process_json_round_trip_and_evolve() -> None:
    proc = Process(
        pid=7,
        kind="sleep",
        argv=("sleep", "1"),
        args={"seconds": 1.0},
        state=JobState.RUNNING,
        priority=-10,
        device_request="auto",
        device="cpu",
        progress=Progress(1, 4, "s", 0.5),
        metrics={"loss": 1.5},
        created=1.0,
        started=1.5,
    )
    assert Process.from_json(proc.to_json()) == proc
    later = proc.evolve(state=JobState.DONE, ended=3.0)
    assert later.state is JobState.DONE and proc.state is JobState.RUNNING
    assert later.elapsed(now=99) == 1.5
    assert proc.elapsed(now=2.0) == 0.5
    assert proc.progress.fraction == 0.25
    assert proc.command == "sleep 1"
