"""Helpers of the end-to-end tests: run the CLI in its own process, read its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from machine_learning.config import PROJECT_ROOT


def gaming_mlops(env: dict[str, str], *args: str, timeout: float = 1800) -> str:
    """Run the CLI in its own process with ``env``; fail the test with its output if it fails."""
    command = [str(Path(sys.executable).with_name("gaming-mlops")), *args]
    result = subprocess.run(
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def last_json(output: str) -> dict:
    """The JSON object on the last line of a command's output."""
    return json.loads(output.strip().splitlines()[-1])
