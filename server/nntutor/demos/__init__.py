"""Small seeded demos, each showing one neural-network concept in about a second.

`run("dropout")` runs a demo, prints what it shows, and returns a `DemoResult` whose figure a
notebook displays. torch, scikit-learn and matplotlib are imported inside the demos, never here:
the language server imports nntutor and must stay light.
"""

from __future__ import annotations

import importlib
import io
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["DemoResult", "available", "run", "source"]


@dataclass(frozen=True)
class _Entry:
    id: str
    module: str  # module name inside nntutor.demos
    title: str
    concept: str  # concept id in content/concepts
    uses_torch: bool = True  # False: runs on the CPU whatever the device


_ENTRIES = (
    _Entry("dropout", "dropout", "Dropout in train vs eval mode", "dropout"),
    _Entry("activations", "activations", "Activation functions and their gradients",
           "activation-functions"),
    _Entry("vanishing-gradients", "vanishing", "Gradient norm per layer: sigmoid vs ReLU",
           "vanishing-exploding-gradients"),
    _Entry("batch-norm", "batch_norm", "Batch norm: batch statistics vs running statistics",
           "batch-normalization"),
    _Entry("lstm-memory", "lstm_memory", "LSTM vs RNN: how far back a token still counts", "lstm"),
    _Entry("double-softmax", "double_softmax", "Softmax before CrossEntropyLoss", "softmax"),
    _Entry("data-leakage", "data_leakage", "Data leakage: feature selection outside the CV loop",
           "data-leakage", uses_torch=False),
    _Entry("cpu-vs-gpu", "cpu_vs_gpu", "Matrix multiply: CPU vs GPU", "device-placement"),
)
_REGISTRY = {e.id: e for e in _ENTRIES}


@dataclass
class DemoResult:
    name: str
    device: str  # device type that produced the metrics: "cpu", "cuda" or "mps"
    lines: list[str]  # everything the demo printed, in order
    metrics: dict[str, float]
    figure: Any = None  # matplotlib Figure, or None with plot=False
    skipped: str | None = None  # why the demo did not run (cpu-vs-gpu without a GPU)
    fallback: str | None = None  # the device error that sent the demo back to the CPU
    seconds: float = 0.0

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.metrics.items())
        extra = f", skipped={self.skipped!r}" if self.skipped else ""
        return f"DemoResult({self.name!r}, device={self.device!r}, metrics={{{shown}}}{extra})"

    def _repr_png_(self) -> bytes | None:
        # Jupyter shows this instead of the repr: the lines were already printed while running.
        if self.figure is None:
            return None
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()


class Demo:
    """What a demo function receives: the device to use, a printer that keeps lines, figures."""

    def __init__(self, device: str, plot: bool, lines: list[str]):
        self.device = device
        self.plot = plot
        self.lines = lines
        self.fig = None
        self.skipped: str | None = None

    def say(self, text: str = "") -> None:
        print(text)
        self.lines.append(text)

    def skip(self, reason: str) -> None:
        self.skipped = reason
        self.say(f"skipped: {reason}")

    def figure(self, ncols: int = 1, width: float = 5.0, height: float = 3.6):
        """A new figure with `ncols` axes side by side; Nones in their place when plot=False."""
        if not self.plot:
            return None, ((None,) * ncols if ncols > 1 else None)
        # A bare Figure on an Agg canvas: no pyplot, so no GUI backend is needed or changed
        # (a notebook's inline backend is left alone) and no global figure list grows.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(width * ncols, height), layout="constrained")
        FigureCanvasAgg(self.fig)
        axes = self.fig.subplots(1, ncols)
        return self.fig, axes


def available() -> list[tuple[str, str, str]]:
    """(demo id, title, concept id) for every demo."""
    return [(e.id, e.title, e.concept) for e in _ENTRIES]


def _entry(name: str) -> _Entry:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(_REGISTRY)
        raise ValueError(f"unknown demo {name!r}; available: {known}") from None


def _module(entry: _Entry):
    return importlib.import_module(f"{__name__}.{entry.module}")


def source(name: str) -> str:
    """Code of a standalone notebook cell that runs the demo (what "Try it" inserts)."""
    entry = _entry(name)
    doc = (_module(entry).__doc__ or "").strip().splitlines()
    comments = [f"# {entry.title} (concept: {entry.concept})"]
    comments += [f"# {line}".rstrip() for line in doc]
    return "\n".join(comments + ["from nntutor.demos import run", "", f'run("{name}")'])


def run(name: str, *, device: str | None = None, plot: bool = True) -> DemoResult:
    """Run a demo on `device` (default: CUDA, then MPS, then CPU) and return what it showed."""
    entry = _entry(name)
    module = _module(entry)
    lines: list[str] = []
    start = time.perf_counter()
    if not entry.uses_torch:
        ctx = Demo("cpu", plot, lines)
        ctx.say("device: cpu (scikit-learn runs on the CPU)")
        metrics = module.demo(ctx)
        return _result(entry, "cpu", ctx, metrics, None, start)

    from . import _device  # imports torch; looked up at call time so tests can swap pick_device

    pick = _device.pick_device(device)
    ctx = Demo(pick.device, plot, lines)
    ctx.say(f"device: {pick.label}")
    fallback = None
    try:
        metrics = module.demo(ctx)
    except Exception as exc:
        if pick.device == "cpu" or not _device.is_device_error(exc):
            raise
        _device.release(pick.device)
        fallback = _device.short_reason(exc)
        ctx = Demo("cpu", plot, lines)
        ctx.say(f"{pick.device} failed ({fallback}); falling back to the CPU.")
        ctx.say("device: cpu (fallback)")
        metrics = module.demo(ctx)
    import torch

    return _result(entry, torch.device(ctx.device).type, ctx, metrics, fallback, start)


def _result(entry, device, ctx, metrics, fallback, start) -> DemoResult:
    return DemoResult(
        name=entry.id,
        device=device,
        lines=ctx.lines,
        metrics={k: float(v) for k, v in metrics.items()},
        figure=ctx.fig,
        skipped=ctx.skipped,
        fallback=fallback,
        seconds=time.perf_counter() - start,
    )
