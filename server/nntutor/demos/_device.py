"""Pick the device a demo runs on (CUDA, then Apple MPS, then CPU) and recognise device failures.

torch is imported inside the functions: this module is imported by `nntutor.demos.run`, never
at `import nntutor.demos` time.
"""

from __future__ import annotations

from dataclasses import dataclass

# Words that mark an exception as the accelerator's fault rather than the demo's.
_DEVICE_WORDS = ("CUDA", "cuda", "cuDNN", "CUBLAS", "cublas", "MPS", "NCCL")


@dataclass(frozen=True)
class Pick:
    device: str  # a torch device string: "cuda", "mps", "cpu" or an explicit one like "cuda:1"
    label: str  # printed after "device: ", e.g. "cuda (NVIDIA H100 80GB HBM3)"


def pick_device(requested: str | None = None) -> Pick:
    """The device to run on: `requested` as given, else the best one this machine has."""
    import torch

    if requested is not None:
        dev = torch.device(requested)
        # A requested device is not checked here: if it fails, the demo falls back to the CPU.
        return Pick(str(dev), f"{dev} (requested)")
    if torch.cuda.is_available():
        return Pick("cuda", f"cuda ({torch.cuda.get_device_name(0)})")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return Pick("mps", "mps (Apple GPU)")
    return Pick("cpu", "cpu (no CUDA GPU found)")


def is_device_error(exc: BaseException) -> bool:
    """True for out-of-memory and CUDA/MPS failures, which a CPU rerun can get around."""
    import torch

    oom = getattr(torch.cuda, "OutOfMemoryError", None)
    if oom is not None and isinstance(exc, oom):
        return True
    # A CPU-only build raises AssertionError("Torch not compiled with CUDA enabled").
    if isinstance(exc, (RuntimeError, AssertionError)):
        return any(word in str(exc) for word in _DEVICE_WORDS)
    return False


def short_reason(exc: BaseException) -> str:
    """First line of the error, enough to say what went wrong without a traceback."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def release(device: str) -> None:
    """Free cached GPU memory after a failure so the CPU rerun does not compete with it."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        try:
            torch.cuda.empty_cache()
        except RuntimeError:  # a broken CUDA context can fail here too; the CPU rerun still works
            pass
