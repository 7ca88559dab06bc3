"""Whole, realistic scripts: correct ones must be silent under every rule; the buggy MNIST
script must give exactly its planted findings. Precision here matters more than in snippets."""
from pathlib import Path

import pytest

from conftest import analysis

DATA = Path(__file__).parent / "data"

CORRECT = ["mnist_correct.py", "cifar_tutorial.py", "transfer_learning.py", "keras_mnist.py"]


@pytest.mark.parametrize("name", CORRECT)
def test_correct_scripts_are_silent(name):
    result = analysis((DATA / name).read_text(), name)
    assert [(f.rule, f.location.line + 1) for f in result.findings] == []


def test_buggy_mnist_exact_findings():
    result = analysis((DATA / "mnist_buggy.py").read_text(), "mnist_buggy.py")
    assert {(f.rule, f.location.line + 1) for f in result.findings} == {
        ("missing-zero-grad", 46),       # no optimizer.zero_grad() in train()
        ("loss-accumulates-graph", 47),  # train_loss += loss (a tensor with its graph)
        ("missing-eval-mode", 62),       # test() runs without model.eval()
        ("missing-no-grad", 76),         # predict() in eval mode without torch.no_grad()
        ("hardcoded-cuda", 97),          # torch.device("cuda") with no availability check
    }
    assert len(result.findings) == 5


def test_buggy_mnist_differs_from_correct_only_by_the_bugs():
    correct = (DATA / "mnist_correct.py").read_text()
    buggy = (DATA / "mnist_buggy.py").read_text()
    assert "optimizer.zero_grad()" in correct and "optimizer.zero_grad()" not in buggy
    assert "model.eval()" in correct.split("def test")[1].split("def main")[0]
