"""nntutor.demos: each demo runs fast, shows its concept in its metrics, and reports its device.

The same tests pass on a CPU-only machine and on one with a GPU: the expected device is whatever
the picker chooses there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

from nntutor import demos
from nntutor.demos import DemoResult, _device, available, run, source

SERVER = Path(__file__).resolve().parents[2] / "server"
# Wall-clock budget per demo (imports excluded); generous because CI machines are shared.
LIMIT_S = float(os.environ.get("NNTUTOR_DEMO_TIME_LIMIT", "5"))
IDS = ["dropout", "activations", "vanishing-gradients", "batch-norm", "lstm-memory",
       "double-softmax", "data-leakage", "cpu-vs-gpu"]
TORCH_IDS = [i for i in IDS if i != "data-leakage"]


@pytest.fixture(scope="module", autouse=True)
def _warm_imports():
    # Pay the one-off import cost of sklearn/matplotlib here, not inside a timed demo.
    import matplotlib.figure
    import sklearn.linear_model
    import sklearn.model_selection

    return matplotlib.figure, sklearn.linear_model, sklearn.model_selection


def expected_device(name: str) -> str:
    if name == "data-leakage":
        return "cpu"
    return torch.device(_device.pick_device().device).type


# What each demo must show, checked on its metrics.
def check_dropout(m):
    assert abs(m["fraction_zeroed_train"] - m["p"]) < 0.01
    assert m["survivor_scale"] == pytest.approx(1 / (1 - m["p"]), rel=1e-5)
    assert m["train_mean_ratio"] == pytest.approx(1.0, abs=0.02)
    assert m["eval_max_abs_diff"] == 0.0
    assert m["max_abs_error_fraction_vs_p"] < 0.01


def check_activations(m):
    assert m["sigmoid_max_grad"] == pytest.approx(0.25, abs=1e-3)
    assert m["tanh_max_grad"] == pytest.approx(1.0, abs=1e-3)
    assert m["relu_max_grad"] == 1.0
    assert m["silu_max_grad"] == pytest.approx(1.0998, abs=1e-3)
    assert m["sigmoid_grad_at_6"] < 3e-3 and m["tanh_grad_at_6"] < 1e-4  # saturation
    assert m["relu_grad_at_6"] == 1.0 and m["relu_grad_at_minus_6"] == 0.0
    assert m["relu_zero_grad_fraction_negative"] == 1.0
    assert m["silu_grad_at_minus_6"] < 0  # non-zero: SiLU never fully "dies"
    assert m["silu_min"] == pytest.approx(-0.2785, abs=1e-3)


def check_vanishing(m):
    assert m["first_layer_sigmoid_over_relu"] < 1e-4
    assert m["sigmoid_first_over_last"] < 1e-4
    assert m["relu_first_over_last"] > 0.1


def check_batch_norm(m):
    assert m["train_output_abs_mean"] < 1e-5
    assert m["train_output_std"] == pytest.approx(1.0, abs=1e-3)
    assert m["running_mean_abs_error"] < 0.5
    assert m["running_std_abs_error"] < 0.5
    assert m["same_sample_spread_train"] > 0.1
    assert m["same_sample_spread_eval"] < 1e-6
    assert m["eval_vs_running_stats_formula"] < 1e-5


def check_lstm(m):
    assert m["rnn_influence_k30"] < 1e-4
    assert m["lstm_default_influence_k30"] < 1e-3
    assert m["lstm_influence_k30"] > 0.1
    assert m["lstm_influence_k30"] > 1000 * m["rnn_influence_k30"]
    assert 0.4 < m["lstm_default_forget_gate"] < 0.6
    assert m["lstm_forget_gate"] > 0.9


def check_double_softmax(m):
    assert m["max_grad_double_softmax"] < m["max_grad_logits"] / 2
    assert m["mean_grad_norm_double_softmax"] < m["mean_grad_norm_logits"] / 5
    assert m["wrong_grad_norm_double_softmax"] < 1e-3 * m["wrong_grad_norm_logits"]
    assert m["confident_loss_logits"] < 1e-6
    assert m["loss_floor"] == pytest.approx(1.4612, abs=1e-3)
    assert m["confident_loss_double_softmax"] == pytest.approx(m["loss_floor"], abs=1e-3)


def check_data_leakage(m):
    assert m["leaky_cv_accuracy"] >= 0.8
    assert m["honest_cv_accuracy"] <= 0.65
    assert m["inflation"] >= 0.25


def check_cpu_vs_gpu(m):
    if "cpu_ms" in m:  # CPU only: one CPU timing, the comparison skipped
        assert m["cpu_ms"] > 0 and m["cpu_gflops"] > 0
    else:
        assert m["speedup_2048"] > 1  # any GPU beats the CPU on a 2048x2048 matmul


CHECKS = {
    "dropout": check_dropout,
    "activations": check_activations,
    "vanishing-gradients": check_vanishing,
    "batch-norm": check_batch_norm,
    "lstm-memory": check_lstm,
    "double-softmax": check_double_softmax,
    "data-leakage": check_data_leakage,
    "cpu-vs-gpu": check_cpu_vs_gpu,
}


def test_registry_lists_the_demos():
    listed = available()
    assert [demo_id for demo_id, _, _ in listed] == IDS
    for _, title, concept in listed:
        assert title and concept == concept.lower() and " " not in concept


@pytest.mark.parametrize("name", IDS)
def test_demo_runs_fast_shows_its_concept_and_reports_its_device(name, capsys):
    start = time.perf_counter()
    result = run(name)
    elapsed = time.perf_counter() - start
    out = capsys.readouterr().out

    assert isinstance(result, DemoResult) and result.name == name
    assert elapsed < LIMIT_S, f"{name} took {elapsed:.2f}s"
    assert result.device in {"cpu", "cuda", "mps"}
    assert result.device == expected_device(name)
    assert result.lines[0].startswith(f"device: {result.device}")
    assert out.splitlines() == result.lines  # everything kept was printed, in order
    assert result.fallback is None
    assert all(isinstance(v, float) for v in result.metrics.values())
    CHECKS[name](result.metrics)
    if result.skipped is None:
        from matplotlib.figure import Figure

        assert isinstance(result.figure, Figure)


@pytest.mark.parametrize("name", ["dropout", "lstm-memory", "double-softmax", "data-leakage"])
def test_demo_is_deterministic(name):
    first = run(name, plot=False)
    second = run(name, plot=False)
    assert first.metrics == second.metrics
    assert first.figure is None


def test_figure_renders_for_a_notebook():
    result = run("dropout")
    png = result._repr_png_()
    assert png.startswith(b"\x89PNG")
    assert "dropout" in repr(result) and "fraction_zeroed_train" in repr(result)
    assert run("dropout", plot=False)._repr_png_() is None


def test_cpu_vs_gpu_skips_with_a_note_without_a_gpu(capsys):
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present: the comparison runs")
    result = run("cpu-vs-gpu")
    out = capsys.readouterr().out
    assert result.skipped and "no CUDA GPU" in result.skipped
    assert "skipped: no CUDA GPU" in out
    assert result.figure is None


def test_cpu_vs_gpu_on_a_requested_cpu_says_why_it_skips():
    result = run("cpu-vs-gpu", device="cpu")
    assert result.device == "cpu" and result.skipped


# Device failures: a device whose first operation raises, not a mocked demo.
FAKE_GPU = _device.Pick("cuda:99", "cuda:99 (a device that fails)")


@pytest.mark.parametrize("name", TORCH_IDS)
def test_device_error_falls_back_to_cpu(name, monkeypatch, capsys):
    # cuda:99 fails on its first tensor: "not compiled with CUDA" on a CPU build,
    # "invalid device ordinal" on a GPU machine.
    monkeypatch.setattr(_device, "pick_device", lambda requested=None: FAKE_GPU)
    result = run(name, plot=False)
    out = capsys.readouterr().out
    assert result.device == "cpu"
    assert result.fallback and "CUDA" in result.fallback
    assert result.lines[0] == "device: cuda:99 (a device that fails)"
    assert "falling back to the CPU" in out and "device: cpu (fallback)" in out
    CHECKS[name](result.metrics)


def test_requested_cuda_without_a_gpu_falls_back():
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    result = run("dropout", device="cuda", plot=False)
    assert result.device == "cpu" and result.fallback
    check_dropout(result.metrics)


def test_only_device_errors_trigger_the_fallback():
    assert _device.is_device_error(torch.cuda.OutOfMemoryError("CUDA out of memory."))
    assert _device.is_device_error(RuntimeError("CUDA error: device-side assert triggered"))
    assert _device.is_device_error(AssertionError("Torch not compiled with CUDA enabled"))
    assert not _device.is_device_error(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    assert not _device.is_device_error(ValueError("CUDA"))


def test_picker_prefers_cuda_then_mps_then_cpu():
    pick = _device.pick_device()
    if torch.cuda.is_available():
        assert pick.device == "cuda" and pick.label.startswith("cuda (")
    elif torch.backends.mps.is_available():
        assert pick.device == "mps"
    else:
        assert pick == _device.Pick("cpu", "cpu (no CUDA GPU found)")
    assert _device.pick_device("cpu") == _device.Pick("cpu", "cpu (requested)")


def test_each_demo_is_named_by_its_concept_card():
    cards = SERVER.parent / "content" / "concepts"
    if not cards.is_dir():
        pytest.skip("no content/concepts in this checkout")
    for demo_id, _, concept in available():
        card = cards / f"{concept}.md"
        assert card.is_file(), f"{demo_id}: no concept card {card.name}"
        assert f"demo: {demo_id}" in card.read_text(encoding="utf-8"), card.name


def test_source_is_a_runnable_cell():
    for demo_id, title, _ in available():
        cell = source(demo_id)
        compile(cell, f"<{demo_id}>", "exec")
        assert cell.splitlines()[0].startswith(f"# {title}")
        assert cell.endswith(f'from nntutor.demos import run\n\nrun("{demo_id}")')


def test_each_demo_module_teaches_in_two_to_four_lines():
    for entry in demos._ENTRIES:
        doc = (demos._module(entry).__doc__ or "").strip().splitlines()
        assert 2 <= len(doc) <= 4, entry.id


def test_unknown_demo_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown demo 'nope'; available: dropout"):
        run("nope")
    with pytest.raises(ValueError):
        source("nope")


def test_importing_demos_does_not_import_torch():
    code = (
        "import sys, nntutor.demos as d; d.available(); d.source('dropout'); "
        "import nntutor.demos.magic; "
        "heavy = {'torch', 'sklearn', 'matplotlib', 'numpy'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    path = os.pathsep.join([str(SERVER), os.environ.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": path},
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


# The %nntutor magic, on a real IPython shell.
@pytest.fixture
def shell(tmp_path, monkeypatch):
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    InteractiveShell.clear_instance()
    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "nntutor.demos.magic")
    yield sh
    InteractiveShell.clear_instance()


def test_magic_lists_demos(shell, capsys):
    shell.run_line_magic("nntutor", "demos")
    out = capsys.readouterr().out
    for demo_id, title, concept in available():
        assert demo_id in out and title in out and concept in out


def test_magic_runs_a_demo_and_inserts_its_cell(shell, capsys):
    shell.run_line_magic("nntutor", "demo dropout")
    out = capsys.readouterr().out
    assert shell.rl_next_input == source("dropout")
    assert f"device: {expected_device('dropout')}" in out
    assert "DemoResult('dropout'" in out  # displayed; a notebook would render the PNG


def test_magic_options_and_errors(shell, capsys):
    shell.run_line_magic("nntutor", "demo data-leakage --no-plot --device cpu")
    assert "accuracy" in capsys.readouterr().out
    shell.run_line_magic("nntutor", "demo nope")
    assert "unknown demo 'nope'" in capsys.readouterr().out
    shell.run_line_magic("nntutor", "frobnicate")
    assert "usage:" in capsys.readouterr().out
    shell.run_line_magic("nntutor", "")
    assert "%nntutor demos" in capsys.readouterr().out
