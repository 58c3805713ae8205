"""Actions of the back-office itself (not of KuCoin)."""
from __future__ import annotations

import os
import socket
import time

from brokeroffice.jobs import JobRun


def queue_selftest(*, steps: int, step_seconds: float, run: JobRun) -> dict:
    """Proves that a worker takes jobs from the queue and reports progress: counts `steps` steps."""
    for step in range(1, steps + 1):
        time.sleep(step_seconds)
        run.progress(step, steps, f"Step {step} of {steps}")
    result = {"worker_host": socket.gethostname(), "worker_pid": os.getpid(), "steps": steps}
    run.succeed(f"The worker on {result['worker_host']} finished {steps} steps.", result)
    return result
