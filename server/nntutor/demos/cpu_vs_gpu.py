"""A GPU multiplies large matrices far faster than a CPU, but small ones barely gain: launching
a kernel and copying data cost time. GPU work is asynchronous, so time it only after
torch.cuda.synchronize(), and leave the first call (CUDA start-up) out of the measurement.
"""

from __future__ import annotations

import time

SIZES = (128, 512, 1024, 2048)
CPU_ONLY_SIZE = 512


def _ms(torch, fn, device: str, repeat: int) -> float:
    """Best of `repeat` wall-clock times in milliseconds, waiting for the GPU to finish."""
    sync = torch.cuda.synchronize if device.startswith("cuda") else (
        torch.mps.synchronize if device.startswith("mps") else (lambda: None))
    fn()  # warm-up: the first call pays for start-up, kernel selection and allocation
    sync()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def _matmul_ms(torch, n: int, device: str, repeat: int = 3) -> float:
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(device)
    b = torch.randn(n, n, generator=gen).to(device)
    return _ms(torch, lambda: a @ b, device, repeat)


def demo(ctx) -> dict[str, float]:
    import torch

    torch.manual_seed(0)
    kind = torch.device(ctx.device).type
    if kind == "cpu":
        ms = _matmul_ms(torch, CPU_ONLY_SIZE, "cpu")
        gflops = 2 * CPU_ONLY_SIZE**3 / (ms / 1000) / 1e9
        n = CPU_ONLY_SIZE
        ctx.say(f"CPU: {n}x{n} matmul in {ms:.2f} ms ({gflops:.1f} GFLOP/s)")
        if torch.cuda.is_available():  # a GPU exists, but the CPU was requested or fell back
            ctx.skip("this run used the CPU, so there is no GPU timing to compare with")
        else:
            ctx.skip("no CUDA GPU on this machine (torch.cuda.is_available() is False); "
                     "run this demo where a GPU is available to compare")
        return {"cpu_ms": ms, "cpu_gflops": gflops}

    metrics: dict[str, float] = {}
    cpu_ms, gpu_ms = [], []
    ctx.say(f"{'n':>6} {'cpu ms':>9} {kind + ' ms':>9} {'speed-up':>9}")
    for n in SIZES:
        c = _matmul_ms(torch, n, "cpu", repeat=1 if n >= 1024 else 3)  # big CPU runs are slow
        g = _matmul_ms(torch, n, ctx.device, repeat=10)
        cpu_ms.append(c)
        gpu_ms.append(g)
        metrics[f"cpu_ms_{n}"] = c
        metrics[f"gpu_ms_{n}"] = g
        metrics[f"speedup_{n}"] = c / g
        ctx.say(f"{n:>6} {c:>9.2f} {g:>9.3f} {c / g:>8.1f}x")

    # Moving data costs time too: copy one 2048x2048 float32 matrix (16 MiB) to the device.
    host = torch.randn(SIZES[-1], SIZES[-1])
    copy = _ms(torch, lambda: host.to(ctx.device), ctx.device, repeat=5)
    metrics["copy_ms_2048"] = copy
    ctx.say(f"copying a {SIZES[-1]}x{SIZES[-1]} matrix to {kind}: {copy:.2f} ms")

    fig, ax = ctx.figure()
    if fig is not None:
        ax.loglog(SIZES, cpu_ms, "o-", label="cpu")
        ax.loglog(SIZES, gpu_ms, "s-", label=kind)
        ax.set(title="n×n matrix multiply", xlabel="n", ylabel="time (ms, best run)")
        ax.legend()
    return metrics
