"""Blocking calls release the GIL, and Ctrl-C interrupts them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import zen
from conftest import CHAT, StandIn


def test_python_threads_run_during_a_blocking_call(
    engine: zen.Engine, standin: StandIn
) -> None:
    standin.script(delay_ms=2000)
    stamps: list[float] = []
    stop = threading.Event()

    def spin() -> None:
        count = 0
        while not stop.is_set():
            count += 1
            if count % 1000 == 0:
                stamps.append(time.monotonic())

    thread = threading.Thread(target=spin)
    thread.start()
    try:
        started = time.monotonic()
        out = engine.call_tool("chat", CHAT)
        ended = time.monotonic()
    finally:
        stop.set()
        thread.join()
    assert out["status"] == "continuation_available"
    assert ended - started > 1.5  # the stand-in made the call wait
    # The other thread ran in the middle of the call, not just at its edges
    # (where a call holding the GIL would still let it run a little).
    middle = [t for t in stamps if started + 0.5 < t < ended - 0.5]
    assert len(middle) > 10


def test_blocking_calls_from_two_threads_overlap(
    engine: zen.Engine, standin: StandIn
) -> None:
    standin.script(delay_ms=2000, times=2)
    outs: list[dict[str, object]] = []
    threads = [
        threading.Thread(target=lambda: outs.append(engine.call_tool("chat", CHAT)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    # Both requests reach the stand-in while both calls are still waiting.
    while len(standin.requests()) < 2:
        assert not outs
        time.sleep(0.02)
    assert not outs
    for thread in threads:
        thread.join()
    assert len(outs) == 2


CHILD = textwrap.dedent(
    """
    import sys, zen
    engine = zen.Engine({"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": sys.argv[1]})
    print("calling", flush=True)
    try:
        engine.call_tool("chat", {"prompt": "hi", "model": "o3",
                                  "working_directory_absolute_path": "/tmp"})
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(3)
    print("finished", flush=True)
    """
)


def test_ctrl_c_interrupts_a_blocking_call(standin: StandIn) -> None:
    # Far longer than the test waits: only an interrupt ends the call in time.
    standin.script(delay_ms=600_000)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, standin.url + "/v1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "calling\n"
        # Wait until the call is at the stand-in, then press Ctrl-C.
        while not standin.requests():
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert out == "interrupted\n", err
    assert child.returncode == 3
