"""Run by each dashboard kernel as it starts (``tco dashboard`` points ``PYTHONSTARTUP`` here).

It warms the imports and a first evaluation (:func:`tco.dashboard.warm`) on a background thread.
A thread because Voila sends the page only once the kernel answers as ready: run in line, the
warm-up (about 1 s here) delayed the page by as much. On the thread it runs while the browser loads
the page's scripts, so the page's own run of the notebook finds it done.
"""

import os as _os
import threading as _threading

# processes this kernel starts (a report's papermill kernel) have nothing to warm
_os.environ.pop("PYTHONSTARTUP", None)


def _warm() -> None:
    from tco.dashboard import warm

    warm()


_threading.Thread(target=_warm, name="tco-warm-up", daemon=True).start()
del _os, _threading, _warm
