"""Benchmark of `top` in a real pseudo-terminal; prints one JSON line.

- first_frame_ms: from launching `python -m llmsh.tui` (no daemon: devices only) to
  the first painted frame on the terminal (median of 3), and the CPU time used by
  then; bare_textual_* are the same for a two-widget Textual app, for scale.
- idle_cpu_pct_100_jobs: CPU used by `python -m llmsh.tui --demo 100` (an embedded
  kernel with 100 sleep jobs) at the default 1 s refresh, over 10 s, in % of one core.
- key_latency_ms_1000_jobs: with 1,000 jobs whose progress changes every second
  (a kernel-like double publishing 1,000 events a second), the time from writing
  `j` to the terminal until the detail pane shows the newly selected job: p50 and
  max over 15 presses at random moments. help_screen_ms: the same for `?` until
  the help screen is painted (a screen switch, the heaviest key).

Goals (issue 6): first frame <= 700 ms, idle <= 3 % of a core, keys <= 100 ms.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import random
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SIZE = (45, 150)  # rows, columns


class Term:
    """A child process on a pty, with its output collected."""

    def __init__(self, argv: list[str]) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[0], SIZE[1], 0, 0))
        env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(SIZE[1]), LINES=str(SIZE[0]))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, start_new_session=True
        )
        os.close(slave)
        self.fd = master
        self.out = bytearray()

    def read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            try:
                self.out.extend(os.read(self.fd, 1 << 16))
            except OSError:
                pass

    def wait_for(self, marker: bytes, start: int = 0, timeout: float = 20.0) -> float:
        """Seconds (perf_counter) when `marker` first appeared after offset `start`."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.out.find(marker, start) >= 0:
                return time.perf_counter()
            self.read(0.002)
        raise TimeoutError(f"{marker!r} not seen; output tail: {bytes(self.out[-300:])!r}")

    def drain(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.read(0.05)

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def close(self) -> None:
        try:
            self.send(b"q")
            end = time.perf_counter() + 5
            while self.proc.poll() is None and time.perf_counter() < end:
                self.read(0.05)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            os.close(self.fd)


BARE_APP = """
from textual.app import App
from textual.widgets import Footer, Static
class Bare(App):
    BINDINGS = [("q", "quit", "Quit")]
    def compose(self):
        yield Static("Jobs:")
        yield Footer()
Bare().run()
"""


def first_frame_ms(argv: list[str]) -> tuple[float, float]:
    """Median of 3 launches: wall time from process start to the first painted frame,
    and the CPU time the process had used by then (steadier on a shared machine)."""
    walls, cpus = [], []
    for _ in range(3):
        term = Term(argv)
        seen = term.wait_for(b"Jobs:")
        cpus.append(cpu_seconds(term.proc.pid) * 1000)
        walls.append((seen - term.started) * 1000)
        term.close()
    return statistics.median(walls), statistics.median(cpus)


def cpu_seconds(pid: int) -> float:
    import psutil

    proc = psutil.Process(pid)
    times = proc.cpu_times()
    return float(times.user + times.system)


def idle_cpu_pct(tmp: str) -> float:
    term = Term([PY, "-m", "llmsh.tui", "--demo", "100", "--no-gpu", "--state-dir", tmp])
    try:
        term.wait_for(b"Jobs:")
        term.drain(3.0)
        before, t0 = cpu_seconds(term.proc.pid), time.perf_counter()
        term.drain(10.0)
        used = cpu_seconds(term.proc.pid) - before
        return 100.0 * used / (time.perf_counter() - t0)
    finally:
        term.close()


def key_latencies(count: int = 1000) -> dict[str, float]:
    """Key to paint, with `count` jobs changing every second, at random moments.

    Navigation: `j` with the detail pane open, answered when the pane names the newly
    selected job. Screen: `?`, answered when the help screen is painted.
    """
    term = Term([PY, str(Path(__file__).resolve()), "--churn", str(count)])
    rng = random.Random(6)
    moves: list[float] = []
    helps: list[float] = []

    def press(key: bytes, marker: bytes) -> float:
        term.drain(rng.uniform(0.3, 1.3))
        start = len(term.out)
        sent = time.perf_counter()
        term.send(key)
        return (term.wait_for(marker, start, timeout=10) - sent) * 1000

    try:
        term.wait_for(b"Jobs:")
        term.drain(2.0)
        term.send(b"l")
        term.wait_for(b"PID 1000")
        for i in range(1, 16):
            moves.append(press(b"j", f"PID {1000 + i}".encode()))
        for _ in range(6):
            helps.append(press(b"?", b"llmsh top: keys"))
            press(b"\x1b", b"Jobs:")
    finally:
        term.close()
    return {
        "key_latency_ms_1000_jobs_p50": round(statistics.median(moves), 1),
        "key_latency_ms_1000_jobs_max": round(max(moves), 1),
        "help_screen_ms_1000_jobs_p50": round(statistics.median(helps), 1),
        "help_screen_ms_1000_jobs_max": round(max(helps), 1),
    }


def churn_child(count: int) -> None:
    """The app over `count` fake jobs, all changing every second."""
    from llmsh.tui.app import TopApp
    from llmsh.tui.source import KernelSource
    from tests.tui.samples import many_jobs  # the repo's test data: run from its root

    kernel = many_jobs(count)

    async def run() -> None:
        async def churn() -> None:
            while True:
                await asyncio.sleep(1.0)
                kernel.churn()

        task = asyncio.get_running_loop().create_task(churn())
        await TopApp(KernelSource(kernel, label="bench", clock=kernel.clock)).run_async()
        task.cancel()

    asyncio.run(run())


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--churn":
        churn_child(int(sys.argv[2]))
        return
    result: dict[str, object] = {"bench": "tui"}
    top = [PY, "-m", "llmsh.tui", "--socket", "/nonexistent/llmsh.sock"]
    wall, cpu = first_frame_ms(top)
    # the same measures for a bare Textual app, for scale on a busy machine
    bare_wall, bare_cpu = first_frame_ms([PY, "-c", BARE_APP])
    result["first_frame_ms"] = round(wall, 1)
    result["first_frame_cpu_ms"] = round(cpu, 1)
    result["bare_textual_first_frame_ms"] = round(bare_wall, 1)
    result["bare_textual_first_frame_cpu_ms"] = round(bare_cpu, 1)
    with tempfile.TemporaryDirectory() as tmp:
        result["idle_cpu_pct_100_jobs"] = round(idle_cpu_pct(tmp), 2)
    result.update(key_latencies())
    result["load_avg_1m"] = round(os.getloadavg()[0], 2)  # other work on the machine
    result["goals"] = {
        "first_frame_ms": 700,
        "idle_cpu_pct_100_jobs": 3.0,
        "key_latency_ms_1000_jobs_max": 100,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
