"""Patch 7 of `moto_adapter` (the one place that installs patches into moto): the wrappers that make
a stopped execution stop as on AWS. Only `moto_adapter.Adapter.install` uses them."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

STOP_CHECK_SECONDS = 0.05  # how often a waiting join or task state checks that its execution still runs


def knows_its_parent(open_frame: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(open_frame)
    def call(env: Any, *args: Any, **kwargs: Any) -> Any:
        frame = open_frame(env, *args, **kwargs)
        frame.orch_parent = env
        return frame

    return call


def running_with_parents(is_running: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """A frame runs only while every frame around it runs (one opened just after a stop ends at once)."""

    @functools.wraps(is_running)
    def call(env: Any) -> bool:
        while env is not None:
            if not is_running(env):
                return False
            env = getattr(env, "orch_parent", None)
        return True

    return call


_waiting = threading.local()  # the Environment whose task state this thread waits on


def stops_waiting(evaluate: Callable[..., Any]) -> Callable[..., Any]:
    """A task state waits for its work (the Lambda call, in its own thread) only while its execution
    runs: on AWS StopExecution ends the execution at once and the function finishes on its own."""

    @functools.wraps(evaluate)
    def call(state: Any, env: Any) -> Any:
        _waiting.env = env
        try:
            return evaluate(state, env)
        finally:
            _waiting.env = None

    return call


class StoppableEvent(threading.Event):
    """moto's wait for a task state's work: also ends (as not finished) once the execution stopped."""

    def wait(self, timeout: float | None = None) -> bool:
        env = getattr(_waiting, "env", None)
        if env is None:
            return super().wait(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = STOP_CHECK_SECONDS if deadline is None else min(STOP_CHECK_SECONDS, deadline - time.monotonic())
            if super().wait(max(left, 0)):
                return True
            if not env.is_running() or (deadline is not None and time.monotonic() >= deadline):
                return False


def stays_stopped(set_state: Callable[..., Any]) -> Callable[..., Any]:
    """A stopped execution stays stopped: a state cut short by the stop does not turn it into FAILED."""

    @functools.wraps(set_state)
    def call(env: Any, *args: Any, **kwargs: Any) -> Any:
        if hasattr(env.program_state(), "stop_date"):  # ProgramStopped
            return None
        return set_state(env, *args, **kwargs)

    return call


def no_next_state_when_stopped(prop: property) -> property:
    """Setting the next state of a stopped frame does nothing. moto raises instead, which kills a
    Parallel branch's thread before it reports its end, and the Parallel then waits forever (seen
    when a stop lands as a branch starts)."""

    def setter(env: Any, name: str) -> None:
        if hasattr(env.program_state(), "stop_date"):  # ProgramStopped
            return
        assert prop.fset is not None
        prop.fset(env, name)

    return property(prop.fget, setter)


def stoppable(wait: Callable[..., Any]) -> Callable[..., Any]:
    """A `.waitForTaskToken` wait that ends when its execution is stopped (moto's blocks until released)."""
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackOutcomeTimedOut

    @functools.wraps(wait)
    def call(
        service: Any, env: Any, timeout_seconds: int | None, callback_endpoint: Any, heartbeat_endpoint: Any
    ) -> Any:
        if heartbeat_endpoint is not None:  # moto's heartbeat wait already watches the execution
            return wait(service, env, timeout_seconds, callback_endpoint, heartbeat_endpoint)
        # A stop racing the state's set-up can leave another value where moto keeps the timeout (seen
        # when a parent run is stopped while its child starts): then wait for the stop check alone.
        timed = isinstance(timeout_seconds, int | float) and not isinstance(timeout_seconds, bool)
        deadline = time.monotonic() + timeout_seconds if timed and timeout_seconds is not None else None
        while env.is_running():
            left = STOP_CHECK_SECONDS if deadline is None else min(STOP_CHECK_SECONDS, deadline - time.monotonic())
            if left <= 0:
                break
            outcome = callback_endpoint.wait(timeout=left)
            if outcome is not None:
                return outcome
        return CallbackOutcomeTimedOut(callback_id=callback_endpoint.callback_id)

    return call


def with_worker(get_executions: Callable[..., Any]) -> Callable[..., Any]:
    """The executions a task-token call (SendTaskSuccess, ...) looks through, without those whose
    worker has no environment yet (one starting): moto dereferences it and fails the call."""

    @functools.wraps(get_executions)
    def call(backend: Any, *args: Any, **kwargs: Any) -> list[Any]:
        found = get_executions(backend, *args, **kwargs)
        return [e for e in found if getattr(getattr(e, "exec_worker", None), "env", None) is not None]

    return call
