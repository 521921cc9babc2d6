"""One line per step: `[e2e] step N name ... ok (12.3s)`, or which step failed and why."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager


_held: list[str] | None = None  # notes made during a step print after its status


@contextmanager
def step(n: int, name: str, tag: str = "e2e"):
    global _held
    print(f"[{tag}] step {n} {name} ...", end=" ", flush=True, file=sys.stderr)
    start = time.monotonic()
    _held = []
    try:
        yield
    except BaseException as e:
        lines = str(e).strip().splitlines() or [type(e).__name__]
        print(f"FAILED ({time.monotonic() - start:.1f}s): {lines[0]}", flush=True, file=sys.stderr)
        for line in lines[1:30]:
            print(f"[{tag}]     {line}", flush=True, file=sys.stderr)
        raise
    else:
        print(f"ok ({time.monotonic() - start:.1f}s)", flush=True, file=sys.stderr)
    finally:
        held, _held = _held, None
        for line in held:
            print(line, flush=True, file=sys.stderr)


def note(msg: str, tag: str = "e2e") -> None:
    line = f"[{tag}]   {msg}"
    if _held is not None:
        _held.append(line)
    else:
        print(line, flush=True, file=sys.stderr)
