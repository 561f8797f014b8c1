"""``python -m tests.web.slow_worker worker …``: the ``panel`` command whose PDF jobs take
``PANEL_TEST_JOB_SECONDS`` seconds and write nothing, to stop a real worker process while it runs one."""

from __future__ import annotations

import os
import time

from web.cli import main
from web.jobs.work import WORK


def slow(job, progress) -> None:
    """A job's work that takes its time."""
    time.sleep(float(os.environ["PANEL_TEST_JOB_SECONDS"]))


if __name__ == "__main__":
    WORK["blank_pdf"] = slow
    main()
