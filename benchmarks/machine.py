"""What the benchmark scripts print about the machine they ran on (imported by them as a sibling module)."""
from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The processor's model name from ``/proc/cpuinfo`` (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def cores_and_cpu() -> str:
    """``"2 cores, AMD EPYC …"``."""
    return f"{os.cpu_count()} cores, {cpu_model()}"
