"""accelerator-unchecked: torch.accelerator.current_accelerator() with no availability check."""
import textwrap

import pytest
from conftest import findings, fixed_once, lines, notebook

from nntutor.content import catalog

RULE = "accelerator-unchecked"

BUGGY = [
    # huggingface/peft's examples (57 copies of this line): AttributeError on a CPU-only build
    ("peft_idiom", """\
import torch

device = torch.accelerator.current_accelerator().type if hasattr(torch, "accelerator") else "cuda"
model = Net().to(device)
""", [3]),
    ("in_a_method", """\
import torch

class Trainer:
    def __init__(self, model):
        self.device_type = torch.accelerator.current_accelerator().type
        self.model = model.to(self.device_type)
""", [5]),
    ("device_object_used_directly", """\
import torch

def main():
    device = torch.accelerator.current_accelerator()
    model = Net().to(device)
""", [4]),
    ("aliased_import", """\
import torch as T
from torch import accelerator

dev = accelerator.current_accelerator().type
""", [4]),
    ("check_available_then_attribute", """\
import torch

kind = torch.accelerator.current_accelerator(check_available=True).type
""", [3]),
    ("check_in_another_function_does_not_count", """\
import torch

def has_gpu():
    return torch.accelerator.is_available()

def main():
    device = torch.accelerator.current_accelerator()
    return device
""", [7]),
]

CORRECT = [
    # accelerate's nd_parallel_trainer example: tensor / FSDP / context parallelism on N GPUs
    ("accelerate_parallelism_config", """\
import torch
from accelerate import ParallelismConfig

def main():
    pc = ParallelismConfig(tp_size=2, dp_shard_size=4)
    device_type = torch.accelerator.current_accelerator().type
    return pc.build_device_mesh(device_type)
""",),
    # pytorch/examples' idiom
    ("guarded_expression", """\
import torch

device = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else torch.device("cpu")
"""),
    ("flag_decided_with_a_check", """\
import torch

def main(args):
    use_accel = not args.no_accel and torch.accelerator.is_available()
    if use_accel:
        device = torch.accelerator.current_accelerator()
    else:
        device = torch.device("cpu")
"""),
    ("command_line_flag", """\
import torch

if opt.accel:
    device = torch.accelerator.current_accelerator()
else:
    device = torch.device("cpu")
"""),
    ("check_available_kept_as_none", """\
import torch

device = torch.accelerator.current_accelerator(check_available=True)
x = torch.ones(3).to(device)
"""),
    ("module_level_check", """\
import torch

if not torch.accelerator.is_available():
    raise SystemExit("needs an accelerator")
device = torch.accelerator.current_accelerator()
"""),
    ("distributed_training", """\
import torch
from torch.nn.parallel import DistributedDataParallel as DDP

acc = torch.accelerator.current_accelerator()
device = torch.device(f"{acc}:{local_rank}")
"""),
    ("half_precision_gpu_model", """\
import torch
from transformers import AutoModelForCausalLM

model = AutoModelForCausalLM.from_pretrained(p, torch_dtype=torch.bfloat16, device_map="cuda")
device = torch.accelerator.current_accelerator().type
"""),
    ("another_librarys_function", """\
import torch
from mylib import current_accelerator

device = current_accelerator().type
"""),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_test_modules_are_left_alone():
    src = "import torch\n\ndevice = torch.accelerator.current_accelerator().type\n"
    assert lines(src, RULE, path="tests/test_train.py") == []
    assert lines(src, RULE, path="train.py") == [3]


def test_message_names_the_attribute_and_both_failures():
    (f,) = findings(BUGGY[0][1], RULE)
    assert "None on a CPU-only build, where `.type` raises AttributeError" in f.message
    assert "`cuda` on a CUDA build running without a GPU" in f.message
    (g,) = findings(BUGGY[2][1], RULE)
    assert "AttributeError" not in g.message


def test_fix_falls_back_to_the_cpu():
    out = fixed_once(BUGGY[0][1], RULE)
    assert ("device = (torch.accelerator.current_accelerator() if torch.accelerator.is_available() "
            "else torch.device(\"cpu\")).type if hasattr(torch, \"accelerator\") else \"cuda\"") in out
    out = fixed_once(BUGGY[2][1], RULE)
    assert "device = (torch.accelerator.current_accelerator() if torch.accelerator.is_available() else " \
           "torch.device(\"cpu\"))" in out


def test_no_fix_without_the_torch_name():
    (f,) = findings(BUGGY[3][1], RULE)   # spelled `accelerator.current_accelerator()`
    assert f.fix is None


def test_notebook_cell():
    found = notebook(["import torch\n", "device = torch.accelerator.current_accelerator().type\n"], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 0)]


def test_quiz_item_is_linked_and_reported():
    item = catalog().quiz["device-placement-6"]
    assert item.rule == RULE
    assert lines(textwrap.dedent(item.code), RULE) == [item.answer]
