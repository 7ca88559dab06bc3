"""`%nntutor demo NAME` and `%nntutor demos`: run a demo from IPython or a notebook.

Load with `%load_ext nntutor.demos.magic`. In a notebook the demo's code is also inserted as a
new cell below, so it stays in the notebook to read, change and rerun.
"""

from __future__ import annotations

import shlex

USAGE = """usage:
  %nntutor demos                                  list the demos
  %nntutor demo NAME [--device DEVICE] [--no-plot]  run a demo and insert its cell below"""


def _list() -> None:
    from . import available

    width = max(len(demo_id) for demo_id, _, _ in available())
    for demo_id, title, concept in available():
        print(f"{demo_id:<{width}}  {title}  [{concept}]")


def _parse_demo(args: list[str]) -> tuple[str, str | None, bool]:
    name, device, plot = None, None, True
    it = iter(args)
    for arg in it:
        if arg == "--no-plot":
            plot = False
        elif arg == "--device":
            device = next(it, None)
            if device is None:
                raise ValueError("--device needs a value, e.g. --device cpu")
        elif arg.startswith("--device="):
            device = arg.split("=", 1)[1]
        elif name is None and not arg.startswith("-"):
            name = arg
        else:
            raise ValueError(f"unexpected argument {arg!r}")
    if name is None:
        raise ValueError("which demo? try %nntutor demos")
    return name, device, plot


def nntutor_magic(line: str, ipython=None) -> None:
    """Handle one `%nntutor ...` line; `ipython` is the shell that inserts the new cell."""
    from . import run, source

    try:
        words = shlex.split(line)
    except ValueError as exc:
        print(f"nntutor: {exc}\n{USAGE}")
        return
    if words in ([], ["help"], ["--help"], ["-h"]):
        print(USAGE)
        return
    if words == ["demos"]:
        _list()
        return
    if words[0] != "demo":
        print(f"nntutor: unknown command {words[0]!r}\n{USAGE}")
        return
    try:
        name, device, plot = _parse_demo(words[1:])
        cell = source(name)
    except ValueError as exc:  # unknown demo or bad option: a message, not a traceback
        print(f"nntutor: {exc}")
        return
    if ipython is not None:
        ipython.set_next_input(cell, replace=False)
    result = run(name, device=device, plot=plot)
    if result.figure is not None:
        from IPython.display import display

        display(result)  # Jupyter renders the figure; a terminal shows the one-line summary


def load_ipython_extension(ipython) -> None:
    """Register `%nntutor` (IPython calls this for `%load_ext nntutor.demos.magic`)."""

    def nntutor(line: str) -> None:
        nntutor_magic(line, ipython)

    nntutor.__doc__ = USAGE
    ipython.register_magic_function(nntutor, magic_kind="line", magic_name="nntutor")


def unload_ipython_extension(ipython) -> None:
    ipython.magics_manager.magics["line"].pop("nntutor", None)
