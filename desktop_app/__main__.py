"""``python -m desktop_app`` and the ``casebook`` command.

A frozen build (PyInstaller) has one executable and no ``python -m``, so the child
processes Casebook starts come back in here: ``--render-worker`` runs the PDF render
worker, and ``-m MODULE`` (what ``sys.executable -m ...`` becomes when ``sys.executable``
is the frozen program) is mapped to the same two entry points. Both are decided before
anything heavy is imported: the worker is restarted after crashes and must start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

RENDER_WORKER_FLAG = "--render-worker"
WORKER_MODULE = "desktop_app.render.worker"


def render_worker_command() -> list[str]:
    """How to start the render worker from this program, frozen or not.

    Frozen, the worker is its own program beside this one (``casebook-render``, built
    without Qt: packaging/render_worker_entry.py); ``--render-worker`` remains for a
    bundle that lacks it.
    """
    if getattr(sys, "frozen", False):
        program = Path(sys.executable)
        sibling = program.with_name("casebook-render" + program.suffix)
        return [str(sibling)] if sibling.is_file() else [sys.executable, RENDER_WORKER_FLAG]
    return [sys.executable, "-m", WORKER_MODULE]


def _frozen_module_argv(argv: list[str]) -> list[str]:
    """``-m desktop_app ARGS`` → ``ARGS``; ``-m <worker>`` → ``--render-worker``.

    Only when frozen: GUI code that starts ``sys.executable -m desktop_app ...`` then
    runs this program again with those arguments, and there is no interpreter to take
    ``-m``. Any other module is not part of the bundle; leave it for argparse to refuse.
    """
    if not getattr(sys, "frozen", False) or len(argv) < 2 or argv[0] != "-m":
        return argv
    if argv[1] in ("desktop_app", "desktop_app.__main__"):
        return argv[2:]
    if argv[1] == WORKER_MODULE:
        return [RENDER_WORKER_FLAG]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    args = _frozen_module_argv(list(sys.argv[1:] if argv is None else argv))
    if args[:1] == [RENDER_WORKER_FLAG]:
        from desktop_app.render.worker import main as worker_main  # no Qt

        worker_main()
        return 0
    from desktop_app.launch import open_window, window_request

    request = window_request(args)
    if request is not None:  # the window, without loading the CLI's modules first
        return open_window(request)
    from desktop_app.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
