"""The Mage worker pool's warm, forked runs never execute stale library code: a worker forked
after the library's source changed imports it again (checked in a child interpreter, since the
check drops modules from ``sys.modules``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from machine_learning.config import PROJECT_ROOT

PROBE = textwrap.dedent("""
    import multiprocessing as mp
    import os
    from machine_learning import mage_server

    def child(queue):
        import machine_learning.pipelines as pipelines
        queue.put(getattr(pipelines, "PROBE_MARK", "fresh"))

    def fork_and_ask():
        queue = mp.Queue()
        process = mp.Process(target=child, args=(queue,))
        process.start()
        answer = queue.get(timeout=60)
        process.join()
        return answer

    if __name__ == "__main__":
        mp.set_start_method("fork", force=True)
        mage_server.preload()
        mp.util.register_after_fork(mage_server._AFTER_FORK, mage_server.forget_stale_library)
        import machine_learning.pipelines as pipelines
        pipelines.PROBE_MARK = "preloaded"
        print("unchanged", fork_and_ask())
        mage_server._PRELOADED["stamp"] -= 1  # as if the source changed after the preload
        print("changed", fork_and_ask())
        print("pool", mage_server._pending(mp.Queue()))
    """)


def test_forked_workers_reuse_the_preload_until_the_source_changes(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert "unchanged preloaded" in lines  # warm: the pool's modules, as loaded
    assert "changed fresh" in lines  # stale: imported again from disk
    assert "pool 0" in lines  # the pool's own module is intact
