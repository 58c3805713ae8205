"""`make run`: the whole back-office on one machine, against the sandbox in place of KuCoin.

Starts the sandbox first (its first line says where it listens and the made-up broker credentials), points
every KuCoin setting at it, prepares the database and the demo users, then runs the web server, a Celery
worker and beat together under honcho. Ctrl-C stops all of them.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from honcho.manager import Manager

from brokeroffice.sandbox_env import sandbox_environment

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def start_sandbox(env: dict[str, str]) -> tuple[subprocess.Popen, dict]:
    state_file = ROOT / "var" / "sandbox-state.json"
    state_file.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [PYTHON, "-m", "sandbox", "--bind", "127.0.0.1", "--port", env.get("SANDBOX_PORT", "0"), "--seed",
         env.get("SANDBOX_SEED", "1"), "--state", str(state_file)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )
    first_line = process.stdout.readline()
    if not first_line:
        process.wait(timeout=10)
        raise SystemExit(f"The sandbox did not start (exit code {process.returncode}).")
    return process, json.loads(first_line)


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def main() -> None:
    port = os.environ.get("PORT", "8000")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # Settings write a development .env with generated secrets on first use.
    manage("migrate", "--noinput", "-v", "0", env=env)
    sandbox, info = start_sandbox(env)
    env.update(sandbox_environment(info))
    manage("demo_configure", "--sandbox-info", json.dumps(info), "--base-url", f"http://127.0.0.1:{port}", env=env)
    manage("ensure_demo_users", "--url", f"http://127.0.0.1:{port}/", env=env)
    print(f"KuCoin sandbox: {json.dumps(info['urls'])}", flush=True)

    manager = Manager()
    manager.add_process("web", f"{PYTHON} manage.py runserver --noreload 127.0.0.1:{port}", cwd=str(ROOT), env=env)
    manager.add_process(
        "worker", f"{PYTHON} -m celery -A brokeroffice worker --loglevel INFO --concurrency 2 --queues actions,sync,celery", cwd=str(ROOT), env=env
    )
    manager.add_process(
        "beat", f"{PYTHON} -m celery -A brokeroffice beat --loglevel INFO --pidfile=", cwd=str(ROOT), env=env
    )
    # In the background: it queues work for the worker that honcho is about to start, and waits for it.
    demo = subprocess.Popen([PYTHON, "manage.py", "demo_seed", "--sandbox-control", info["control"]], cwd=ROOT, env=env)
    try:
        manager.loop()
    finally:
        if demo.poll() is None:
            demo.terminate()
        sandbox.send_signal(signal.SIGINT)
        try:
            sandbox.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sandbox.kill()
    sys.exit(manager.returncode)


if __name__ == "__main__":
    main()
