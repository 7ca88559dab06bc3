"""hardcoded-cuda: "cuda" with no availability check crashes on CPU-only machines."""
import pytest

from conftest import apply_fix, findings, lines, notebook, parses, two_files

RULE = "hardcoded-cuda"

BUGGY = [
    # The device held in an attribute: argparse's namespace, a config class, self.
    ("device_set_on_the_args_namespace", """\
import argparse
import torch
args = argparse.ArgumentParser().parse_args()
args.device = "cuda"
model = Net().to(args.device)
""", [4]),
    ("device_in_a_config_class", """\
import torch
class CFG:
    device = "cuda"
    lr = 1e-3
model = Net().to(CFG.device)
cfg = CFG()
x = torch.zeros(3, device=cfg.device)
""", [3]),
    ("device_set_in_init_read_in_a_method", """\
import torch
class Trainer:
    def __init__(self, model):
        self.device = "cuda"
        self.model = model
    def step(self, x):
        return self.model(x.to(self.device))
""", [4]),
    # The class's own `cuda` helper does call .cuda(): the call in step() puts data on the GPU.
    ("class_own_cuda_helper_that_uses_cuda", """\
import torch
class Trainer:
    def cuda(self, *args):
        return (item.cuda() for item in args)
    def step(self, batch):
        images, masks = self.cuda(*batch)
        return images * masks
""", [6]),   # (line 4, inside a `cuda` override, runs only when asked for)
    # the first GPU only, spelt out: still one machine's GPU
    ("cuda_zero_spelt_out", """\
import torch

net = build().to("cuda:0")
z = x.cuda(0)
""", [3, 4]),
    ("torch_device_cuda", """\
import torch

device = torch.device("cuda")
model = Net().to(device)
""", [3]),
    ("model_cuda_method", """\
import torch

model = Net()
model.cuda()
x = x.cuda(0)
""", [4, 5]),
    ("to_cuda_string", """\
import torch

inputs, labels = inputs.to("cuda"), labels.to("cuda:0")
""", [3, 3]),
    ("device_keyword", """\
import torch

noise = torch.randn(16, 100, device="cuda")
state = torch.load("ckpt.pt", map_location="cuda:0")
""", [3, 4]),
    ("device_string_variable", """\
import torch

device = "cuda"
model = Net().to(device)
""", [3]),
    # comments decide nothing: neither a mentioned check nor a mentioned multi-GPU setup
    ("check_only_in_a_comment", """\
import torch

# TODO: fall back to the CPU with torch.cuda.is_available(); see device_count() for DataParallel
model = Net().cuda()
""", [4]),
    ("only_torch_nn_imported", """\
import torch.nn as nn

model = nn.Linear(3, 1).cuda()
""", [3]),
    # a helper called from a checked function and from an unchecked one
    ("helper_also_called_where_nothing_checks", """\
import torch


def collect_stats(model, data_loader):
    for images, _ in data_loader:
        model(images.cuda())


def main():
    assert torch.cuda.is_available()
    collect_stats(model, loader)


def quick():
    collect_stats(model, loader)
""", [6]),
    # a helper handed over as a value may run anywhere
    ("helper_handed_over_as_a_value", """\
import torch


def collect_stats(model, data_loader):
    for images, _ in data_loader:
        model(images.cuda())


def main():
    assert torch.cuda.is_available()
    collect_stats(model, loader)


run_later(collect_stats)
""", [6]),
    # 8-bit loading switched off: nothing ties the file to the GPU
    ("load_in_8bit_false", """\
import torch
from transformers import AutoModelForCausalLM

model = AutoModelForCausalLM.from_pretrained("bigscience/bloom-1b7", load_in_8bit=False)
inputs = tokenizer("Hello", return_tensors="pt").to("cuda")
""", [5]),
    # review 17: the CPU branch of a CPU test is exactly where .cuda() crashes
    ("cuda_in_the_cpu_branch_of_a_device_test", """\
import torch


def prepare(batch):
    if batch.device.type == "cpu":
        batch = batch.cuda()
    return batch
""", [6]),
    ("cuda_in_the_else_of_a_not_cpu_test", """\
import torch


def prepare(batch):
    if batch.device != torch.device("cpu"):
        return batch
    else:
        return batch.cuda()
""", [8]),
    # an __init__ that only picks a device does not guard the other methods
    ("init_picks_a_device_without_asserting", """\
import torch
import torch.nn as nn


class Relatedness(object):
    def __init__(self, train):
        self.device = "cuda" if torch.cuda.is_available() else "cpu"

    def prepare_data(self, x):
        return torch.from_numpy(x).float().cuda()
""", [10]),
    # halved in another function: not known to be this model
    ("model_placed_then_another_name_halved", """\
import torch
import torch.nn as nn

model = nn.Linear(8, 1).to("cuda")
other = nn.Linear(8, 1).half()
""", [4]),
    # `synced_gpus=` (generation under DeepSpeed) is not Lightning's `gpus=`
    ("generate_with_synced_gpus", """\
import torch

model = load().to("cuda")
out = model.generate(**batch, synced_gpus=False, max_new_tokens=10)
""", [3]),
]

CORRECT = [
    ("device_attribute_from_a_parameter", """\
import torch
class Trainer:
    def __init__(self, model, device):
        self.device = device
    def step(self, x):
        return x.to(self.device)
""",),
    ("device_attribute_checked", """\
import torch
class CFG:
    device = "cuda" if torch.cuda.is_available() else "cpu"
model = Net().to(CFG.device)
""",),
    ("device_attribute_set_twice_in_the_class", """\
import torch
class Trainer:
    def __init__(self):
        self.device = "cuda"
    def use_cpu(self):
        self.device = "cpu"
    def step(self, x):
        return x.to(self.device)
""",),
    # An inpainting project's trainer (sweep 20): its own `cuda` helper moves to self.device.
    ("class_own_cuda_helper", """\
import torch
class Trainer:
    def __init__(self, model, device):
        self.model, self.device = model, device
    def cuda(self, *args):
        return (item.to(self.device) for item in args)
    def step(self, batch):
        images, masks = self.cuda(*batch)
        return self.model(images * masks)
""",),
    # sweep 16: Lightning's `Trainer(gpus=1)` chooses the GPU
    ("lightning_trainer_gpus", """\
import pytorch_lightning as pl
import torch


def run(model, loader):
    trainer = pl.Trainer(max_epochs=5, gpus=1)
    trainer.fit(model)
    return [model.cuda()(x.cuda()) for x in loader]
""",),
    # torch.distributed imported plainly, or used through `torch.`: GPU-cluster code
    ("plain_import_of_torch_distributed", """\
import torch
import torch.distributed

device = torch.device("cuda")
model = torch.nn.Linear(4, 2).to(device)
""",),
    ("torch_distributed_used_without_its_import", """\
import torch


def shuffle_batch(all_x):
    order = torch.randperm(all_x.shape[0]).cuda()
    torch.distributed.broadcast(order, src=0)
    return all_x[order]
""",),
    # a device compared with CUDA (to refuse it) places nothing
    ("device_compared_with_cuda", """\
import torch


class CpuOnly:
    def __init__(self, device=torch.device("cpu")):
        if device == torch.device("cuda"):
            raise RuntimeError("CUDA is not supported")
""",),
    # BigGAN-style sampling: the function form of DataParallel is multi-GPU code too
    ("functional_data_parallel", """\
import torch
import torch.nn as nn


def sample(G, z, parallel):
    z = z.cuda()
    if parallel:
        return nn.parallel.data_parallel(G, (z,))
    return G(z)
""",),
    # litgpt's LoRA merge: the branch that imports bitsandbytes handles 4-bit weights (GPU only)
    ("function_that_imports_bitsandbytes_itself", """\
import torch


def merge(self):
    if self.linear.weight.dtype == torch.uint8:
        import bitsandbytes as bnb
        weight = bnb.nn.Params4bit(self.data, requires_grad=False)
        weight.cuda(self.device)
""",),
    # ignite's CycleGAN with apex: the import is required (the handler raises)
    ("required_apex_import_in_try", """\
import torch

try:
    from apex import amp
except ImportError:
    raise ImportError("Please install apex")

model = Net().cuda()
""",),
    # litgpt's triton kernels: imported under a flag, the kernels still run on GPUs only
    ("triton_imported_under_a_flag", """\
import torch
from litgpt.constants import _TRITON_AVAILABLE

if _TRITON_AVAILABLE:
    import triton


def swiglu(e):
    return torch.empty(e.shape, dtype=e.dtype, device="cuda")
""",),
    # selimsef DFDC: placed on the GPU, then halved in a later statement
    ("model_halved_after_placement", """\
import torch
import torch.nn as nn

models = []
for path in ["a.pth", "b.pth"]:
    model = nn.Linear(8, 1).to("cuda")
    model.load_state_dict(torch.load(path, map_location="cpu"))
    models.append(model.half())
""",),
    # SentEval: __init__ asserts CUDA, the other methods run on an object that passed it
    ("init_asserts_cuda_for_the_methods", """\
import torch
import torch.nn as nn


class Relatedness(object):
    def __init__(self, train):
        assert torch.cuda.is_available(), "torch.cuda required"
        self.model = nn.Linear(10, 5).cuda()

    def prepare_data(self, x):
        return torch.from_numpy(x).float().cuda()
""",),
    # SentEval's InferSent: a ternary on the module's own placement, over a line continuation
    ("ternary_on_is_cuda_over_a_line_continuation", """\
import numpy as np
import torch
import torch.nn as nn


class InferSent(nn.Module):
    def is_cuda(self):
        return self.enc_lstm.bias_hh_l0.data.is_cuda

    def forward(self, sent, sent_len):
        idx_sort = torch.from_numpy(np.argsort(-sent_len)).cuda() if self.is_cuda() \\
            else torch.from_numpy(np.argsort(-sent_len))
        return sent.index_select(1, idx_sort)
""",),
    ("cuda_in_the_body_of_a_not_cpu_test", """\
import torch


def prepare(batch, table):
    if batch.device.type != "cpu":
        table = table.cuda()
    return batch * table
""",),
    # unslothai/notebooks: `import unsloth` fails without a GPU, the notebook is GPU-only
    ("unsloth_notebook", """\
from unsloth import FastLanguageModel
import torch

model, tokenizer = FastLanguageModel.from_pretrained(model_name="unsloth/Llama-3.2-1B-Instruct")
inputs = tokenizer(["Hello"], return_tensors="pt").to("cuda")
""",),
    # QLoRA: a bitsandbytes 4-bit model runs on CUDA GPUs only
    ("bitsandbytes_config", """\
import torch
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

bnb_config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.float16)
model = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-2-7b-hf", quantization_config=bnb_config)
inputs = tokenizer("Hello", return_tensors="pt").to("cuda")
""",),
    ("load_in_8bit", """\
import torch
from transformers import AutoModelForCausalLM

model = AutoModelForCausalLM.from_pretrained("bigscience/bloom-1b7", load_in_8bit=True)
inputs = tokenizer("Hello", return_tensors="pt").to("cuda")
""",),
    # WZMIAOMIAO's SSD utils: the other branch of a CPU test runs for data already on a GPU
    ("cuda_in_the_else_of_a_cpu_device_test", """\
import torch


class Encoder:
    def scale_back(self, bboxes_in):
        if bboxes_in.device == torch.device("cpu"):
            self.dboxes = self.dboxes.cpu()
        else:
            self.dboxes = self.dboxes.cuda()
        return bboxes_in * self.dboxes
""",),
    # a TensorRT quantization script: the helper's only caller asserts CUDA first
    ("helper_only_called_after_its_callers_check", """\
import torch


def collect_stats(model, data_loader):
    for images, _ in data_loader:
        model(images.cuda())


def main():
    assert torch.cuda.is_available(), "only support GPU!"
    model = build_model()
    model.cuda()
    collect_stats(model, loader)
""",),
    # Practical_DL's GAN wrapper: a module's own cuda() moves a member along with it
    ("inside_a_cuda_method_override", """\
import torch.nn as nn

class GenWrapper(nn.Module):
    def __init__(self, model, distribution):
        super().__init__()
        self.model, self.distribution = model, distribution

    def cuda(self, device=None):
        super().cuda(device)
        self.distribution.cuda()
        return self
""",),
    # chenyuntc's CUDA extension test: the kernel has no CPU implementation
    ("cuda_extension_built_from_cu_sources", """\
import torch
from torch.utils.cpp_extension import load

mysigmoid = load(name="mysigmoid", sources=["sigmoid.cpp", "sigmoid_kernel.cu"])
x = torch.randn(1280, 1280).cuda()
y = mysigmoid.forward(x)
""",),
    # d2l's GPU chapter: written for a machine with two GPUs
    ("a_second_gpu_named", """\
import torch

x = torch.ones(2, 3, device="cuda")
y = torch.rand(2, 3, device=torch.device("cuda:1"))
""",),
    ("a_second_gpu_by_index", """\
import torch

net = build().cuda()
z = x.cuda(1)
""",),
    ("device_mesh_for_tensor_parallelism", """\
import torch

mesh = torch.distributed.device_mesh.init_device_mesh("cuda", (2, 4))   # no distributed import
model = build_model().to("cuda")
""",),
    ("is_available_guard", """\
import torch

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
model = Net().to(device)
""",),
    ("guard_elsewhere_in_file", """\
import torch

use_cuda = torch.cuda.is_available()
if use_cuda:
    model.cuda()
""",),
    ("guarded_by_a_gpu_flag", """\
import torch

def test_rnn(rnn, batch, train_on_gpu):
    if train_on_gpu:
        rnn.cuda()
        batch = batch.cuda()
    x = x.to("cuda") if args.use_cuda else x
""",),
    ("device_parameter", """\
import torch

def train(model, device):
    model.to(device)
""",),
    ("cpu_only", """\
import torch

model = Net().to("cpu")
x = torch.zeros(3, device="cpu")
""",),
    ("argparse_default_is_not_a_device_call", """\
import argparse
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--device", default="cuda")
args = parser.parse_args()
model = Net().to(args.device)
""",),
    ("no_torch_at_all", """\
import cupy

arr = thing.cuda()
""",),
    ("ddp_script_targets_gpus", """\
import torch
import torch.distributed as dist

dist.init_process_group("nccl")
torch.cuda.set_device(local_rank)
model = Net().cuda(local_rank)
""",),
    # ShusenTang/Dive-into-DL-PyTorch 8.4_multiple-gpus: a notebook about DataParallel.
    ("data_parallel_targets_gpus", """\
import torch

net = torch.nn.Linear(10, 1).cuda()
net = torch.nn.DataParallel(net)
""",),
    ("accelerate_decides", """\
import torch
from accelerate import Accelerator

accelerator = Accelerator()
model = model.to(accelerator.device)
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_across_notebook_cells():
    found = notebook([
        "import torch\nimport torch.nn as nn\n",
        "model = nn.Linear(4, 2)\nmodel = model.cuda()\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 1)]


FIXABLE = [
    """\
import torch

device = torch.device("cuda")
""",
    """\
import torch

model = Net()
model.cuda()
""",
    """\
import torch

x = x.to("cuda:0")
""",
    """\
import torch

device = "cuda"
model.to(device)
""",
]


@pytest.mark.parametrize("src", FIXABLE)
def test_fix_guards_the_device(src):
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert parses(fixed) and "torch.cuda.is_available()" in fixed
    assert lines(fixed, RULE) == []


def test_no_fix_without_torch_name():
    (finding,) = findings(dict((n, src) for n, src, _ in BUGGY)["only_torch_nn_imported"], RULE)
    assert finding.fix is None


@pytest.mark.parametrize("src,expected", [
    ('import torch\ndevice = torch.device("cuda")\n',
     'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")'),
    ('import torch\nmodel.to(device="cuda:0")\n',
     'model.to(device="cuda:0" if torch.cuda.is_available() else "cpu")'),
    ('import torch\ndevice = "cuda"\nmodel.to(device)\n',
     'device = "cuda" if torch.cuda.is_available() else "cpu"'),
])
def test_fix_adds_no_parentheses_where_none_are_needed(src, expected):
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert expected in fixed and parses(fixed)


@pytest.mark.parametrize("path,expected", [
    ("tests/test_device.py", []),      # found in stable-baselines3: a test pretending to be on the GPU
    ("conftest.py", []),
    ("train.py", [4]),
])
def test_pytest_modules_are_left_alone(path, expected):
    src = "import torch\n\nmodel = build()\nmodel.device = torch.device('cuda')\nmodel.check()\n"
    assert lines(src, RULE, path=path) == expected


_UNITTEST = """\
import torch
{imports}

class TestVAE({base}):
    def setUp(self):
        self.model = VAE(3, 10).cuda()
"""


@pytest.mark.parametrize("imports,base,expected", [
    ("import unittest", "unittest.TestCase", []),       # AntixK/PyTorch-VAE's tests/bvae.py
    ("from unittest import TestCase", "TestCase", []),
    ("from unittest import mock", "object", [6]),       # imports unittest, defines no test case
    ("", "TestCase", [6]),                               # some other TestCase
])
def test_unittest_modules_are_test_modules_whatever_their_name(imports, base, expected):
    assert lines(_UNITTEST.format(imports=imports, base=base), RULE, path="tests/bvae.py") == expected


@pytest.mark.parametrize("between,rebinding,expected", [
    # bentrevett/pytorch-rl: set to cuda, set to cpu before anything uses it
    ("def train(env, policy, device):\n    return policy.to(device)\n", "device = torch.device('cpu')\n", []),
    ("", "device = torch.device('cpu')\n", []),
    ("x = torch.ones(3).to(device)\n", "device = torch.device('cpu')\n", [3]),          # used first
    ("def train(env, policy):\n    return policy.to(device)\n", "device = torch.device('cpu')\n", [3]),  # a global read
    ("", "if args.cpu:\n    device = torch.device('cpu')\n", [3]),                      # only sometimes
    ("", "", [3]),
])
def test_a_cuda_device_replaced_before_any_use(between, rebinding, expected):
    src = "import torch\n\ndevice = torch.device('cuda')\n" + between + rebinding + "model = Net().to(device)\n"
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("src,expected", [
    # huggingface/notebooks (diffusers docs): a float16 pipeline is GPU-only by design, and so is
    # the rest of the file that feeds it
    ("import torch\nfrom diffusers import DiffusionPipeline\n\n"
     "pipe = DiffusionPipeline.from_pretrained('x', torch_dtype=torch.float16).to('cuda')\n"
     "generator = torch.Generator('cuda').manual_seed(0)\nlatents = latents.to('cuda')\n", []),
    ("import torch\nfrom diffusers import StableDiffusionPipeline\n\ndevice = 'cuda'\nweight_dtype = torch.float16\n"
     "pipe = StableDiffusionPipeline.from_pretrained('x', torch_dtype=weight_dtype)\npipe = pipe.to(device)\n", []),
    ("import torch\n\nmodel = Net().half().cuda()\nx = x.cuda()\n", []),
    ("import torch\n\nx = batch.to('cuda', dtype=torch.float16)\n", []),
    # AnswerDotAI/fsdp_qlora's HQQ notebook: half-precision tensors made on the GPU
    ("import torch\n\nq = torch.rand(32, 8, dtype=torch.float16, device='cuda')\nm = Net().cuda()\n", []),
    ("import torch\n\nq = torch.rand(4, 8, device='cuda').half()\nm = Net().cuda()\n", []),
    # ... made in full precision, they say nothing about the rest
    ("import torch\n\nq = torch.rand(32, 8, device='cuda')\nm = Net().cuda()\n", [3, 4]),
    ("import torch\n\nq = torch.rand(32, 8, dtype=torch.float32, device='cuda')\nm = Net().cuda()\n", [3, 4]),
    # full precision: a CPU fallback works, so the device is reported
    ("import torch\nfrom transformers import GPT2LMHeadModel\n\ndevice = 'cuda'\n"
     "model = GPT2LMHeadModel.from_pretrained('gpt2').to(device)\n", [4]),
    # a float16 model kept on the CPU says nothing about the rest
    ("import torch\n\nmodel = Net().half()\nx = x.to('cuda')\n", [4]),
])
def test_half_precision_models_on_the_gpu_make_the_file_gpu_only(src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("src,expected", [
    # karpathy/llm.c dev/eval/export_hf.py: a bf16 model with FlashAttention placed by device_map
    ("import torch\nfrom transformers import AutoModelForCausalLM\n\n"
     "model = AutoModelForCausalLM.from_pretrained(p, attn_implementation='flash_attention_2', "
     "torch_dtype=torch.bfloat16, device_map='cuda')\ntokens = tokens.to('cuda')\n", []),
    ("import torch\nfrom transformers import AutoModelForCausalLM\n\n"
     "model = AutoModelForCausalLM.from_pretrained(p, torch_dtype=torch.float16, device_map='cuda')\n"
     "tokens = tokens.to('cuda')\n", []),
    ("import torch\nfrom transformers import AutoModelForCausalLM\n\nATTN = 'flash_attention_2'\n"
     "model = AutoModelForCausalLM.from_pretrained(p, attn_implementation=ATTN)\ntokens = tokens.to('cuda')\n", []),
    # wandb/examples' SDXL and PixArt notebooks: offloading pipelines move their parts to the GPU
    ("import torch\nfrom diffusers import StableDiffusionXLPipeline\n\n"
     "pipe = StableDiffusionXLPipeline.from_pretrained(p, torch_dtype=torch.float16)\n"
     "pipe.enable_model_cpu_offload()\ngenerator = torch.Generator(device='cuda').manual_seed(0)\n", []),
    # full precision on device_map='cuda', or another attention: the tokens' device is reported
    ("import torch\nfrom transformers import AutoModelForCausalLM\n\n"
     "model = AutoModelForCausalLM.from_pretrained(p, device_map='cuda')\ntokens = tokens.to('cuda')\n", [5]),
    ("import torch\nfrom transformers import AutoModelForCausalLM\n\n"
     "model = AutoModelForCausalLM.from_pretrained(p, attn_implementation='sdpa', torch_dtype=torch.bfloat16)\n"
     "tokens = tokens.to('cuda')\n", [5]),
    # a bf16 model left on the CPU (device_map='cpu') says nothing about the rest
    ("import torch\nfrom transformers import AutoModelForCausalLM\n\n"
     "model = AutoModelForCausalLM.from_pretrained(p, torch_dtype=torch.bfloat16, device_map='cpu')\n"
     "tokens = tokens.to('cuda')\n", [5]),
])
def test_models_loaded_for_the_gpu_only_make_the_file_gpu_only(src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("imports,expected", [
    ("import triton\nimport triton.language as tl\n", []),   # litgpt's unsloth kernels
    ("from triton import jit\n", []),
    ("import tritonclient\n", [4]),                            # not Triton kernels
])
def test_triton_kernel_files_are_gpu_only(imports, expected):
    src = "import torch\n" + imports + "\nlosses = torch.empty(n, device='cuda')\n"
    assert lines(src, RULE) == [n + imports.count("\n") - 1 for n in expected]


# NVIDIA-AI-IOT/torch2trt's README: a model converted to a TensorRT engine runs on an NVIDIA GPU only
@pytest.mark.parametrize("imports,flagged", [
    ("import tensorrt\nfrom torch2trt import torch2trt\n", False),
    ("from torch2trt import torch2trt\n", False),
    ("import torch_tensorrt\n", False),
    ("try:\n    import tensorrt as trt\nexcept ImportError:\n    trt = None\n", True),   # optional
])
def test_tensorrt_files_are_gpu_only(imports, flagged):
    src = "import torch\n" + imports + "\nmodel = resnet18().eval().cuda()\nx = torch.ones((1, 3, 224, 224)).cuda()\n"
    n = 3 + imports.count("\n")   # the line of `model = ...`
    assert lines(src, RULE) == ([n, n + 1] if flagged else [])


def test_env_magic_choosing_the_gpu_in_a_notebook():
    # yandexdataschool/nlp_course: `%env CUDA_VISIBLE_DEVICES=0` in the first cell
    cells = ["%env CUDA_VISIBLE_DEVICES=0\nimport torch", "model = Net().cuda()\nx = x.to('cuda')"]
    assert notebook(cells, RULE) == []
    assert [f.location.cell for f in notebook(["import torch", cells[1]], RULE)] == [1, 1]


def test_a_module_level_helper_named_cuda_is_still_checked():
    """Only a class's own `def cuda(self, ...)` runs when the caller asks for CUDA; a helper
    named cuda that the script calls unconditionally hard-codes the device."""
    src = """\
import torch
import torch.nn as nn

def cuda(x):
    return x.cuda()

model = cuda(nn.Linear(4, 2))
"""
    assert lines(src, RULE) == [5]


@pytest.mark.parametrize("src,expected", [
    # a sentence that talks about the GPU words decides nothing (docstring, help text, message)
    ('"""Trains on one GPU; see train_dp.py for DataParallel."""\nimport torch\nmodel = Net().cuda()\n', [3]),
    ("import argparse, torch\np = argparse.ArgumentParser()\n"
     "p.add_argument('--gpus', help='GPUs to use (set CUDA_VISIBLE_DEVICES or call set_device)')\n"
     "model = Net().cuda()\n", [4]),
    ("import torch\ndef train():\n    '''Call torch.cuda.is_available() before this.'''\n    return Net().cuda()\n", [4]),
    ("import torch\nprint('device_count is', 1)\nx = torch.zeros(3).to('cuda')\n", [3]),
    # a name in a string is a name: a dict key, an environment variable, a file, a backend
    ("import os, torch\nos.environ['CUDA_VISIBLE_DEVICES'] = '0'\nmodel = Net().cuda()\n", []),
    ("import torch\ncfg = {'accelerator': 'gpu'}\nmodel = Net().cuda()\n", []),
    ("import torch\nfrom torch.utils.cpp_extension import load\nk = load('k', sources=['k.cpp', 'k.cu'])\n"
     "x = torch.zeros(3).cuda()\n", []),
    ("import torch\ntorch.distributed.init_process_group(backend='nccl')\nx = torch.zeros(3).cuda()\n", []),
    # code inside an f-string's braces is code
    ("import torch\nprint(f'{torch.cuda.device_count()} GPUs')\nx = torch.zeros(3).cuda()\n", []),
])
def test_words_in_prose_strings_are_not_guards(src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("calls,expected", [
    ("train(model, device=dev)\ntrain(model, dev)\n", []),          # every call passes it (timm)
    ("train(model, device=dev)\ntrain(model)\n", [4]),              # one call takes the default
    ("", [4]),                                                      # no call here: callers elsewhere
    ("train(*args)\n", [4]),                                        # cannot tell
])
def test_a_device_default_every_call_overrides(calls, expected):
    src = ("import torch\n\n\ndef train(model, device=torch.device('cuda')):\n    return model.to(device)\n\n\n"
           "dev = pick()\n" + calls)
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("use", [
    "print(list(map(partial(train, model), loaders)))",   # handed over: the default is used
    "jobs = {'train': train}",
])
def test_a_device_default_of_a_function_handed_over_is_reported(use):
    src = ("import torch\n\n\ndef train(model, device=torch.device('cuda')):\n    return model.to(device)\n\n\n"
           "dev = pick()\ntrain(model, device=dev)\n" + use + "\n")
    assert lines(src, RULE) == [4]


# Sweep 12 (Informer2020's model): a `device` default that the body never reads only builds a
# device object, which does not touch the GPU.
@pytest.mark.parametrize("body,expected", [
    ("        self.proj = nn.Linear(enc_in, c_out)\n", []),
    ("        self.proj = nn.Linear(enc_in, c_out)  # device unused\n", []),
    ("        self.proj = nn.Linear(enc_in, c_out, device=None)\n", []),   # a keyword's name
    ("        self.device = device\n", [6]),
    ("        self.proj = nn.Linear(enc_in, c_out).to(device)\n", [6]),
    ("        self.proj = nn.Linear(**{k: v for k, v in locals().items() if k != 'self'})\n", [6]),
    ("        def move(m):\n            return m.to(device)\n        self.move = move\n", [6]),
])
def test_a_device_default_the_body_never_reads(body, expected):
    src = ("import torch\nimport torch.nn as nn\n\n\nclass Informer(nn.Module):\n"
           "    def __init__(self, enc_in, c_out, device=torch.device('cuda:0')):\n"
           "        super().__init__()\n" + body)
    assert lines(src, RULE) == expected


# A CUDA-stream prefetcher (NVIDIA's ImageNet example, sweep 16) is CUDA-only by design:
# `torch.cuda.Stream()` fails without a GPU before any `.cuda()` could. The class that creates
# the stream, and a function that enters one, are silent; other code of the file is not.
_PREFETCHER = """\
import torch


class DataPrefetcher:
    def __init__(self, loader):
        self.loader = iter(loader)
        self.stream = torch.cuda.Stream()
        self.mean = torch.tensor([0.485, 0.456, 0.406]).cuda().view(1, 3, 1, 1)

    def preload(self):
        self.x, self.y = next(self.loader)
        with torch.cuda.stream(self.stream):
            self.x = self.x.cuda(non_blocking=True)
"""


@pytest.mark.parametrize("rest,expected", [
    ("", []),
    ("\n\ndef copy_async(x, stream):\n    with torch.cuda.stream(stream):\n        return x.cuda(non_blocking=True)\n", []),
    ("\n\nclass Plain:\n    def __init__(self):\n        self.w = torch.zeros(3).cuda()\n", [18]),
    ("\nmodel = Net().cuda()\n", [15]),
])
def test_cuda_stream_code_is_gpu_only_by_design(rest, expected):
    assert lines(_PREFETCHER + rest, RULE) == expected


# Sweep 14 (the DFDC winner's kernel_utils.py): inputs made on the GPU with `device="cuda"` and
# fed to the models halved (`model(x[:n].half())`, in the loop over the models) are half-precision
# inference, GPU-only by design; the same without `.half()`, or with it only under a flag, is not.
@pytest.mark.parametrize("use,expected", [
    ("            y = model(x[:n].half())\n", []),
    ("            y = model(x.half())\n", []),
    ("            y = model(x[:n])\n", [6]),
    ("            if fp16:\n                y = model(x[:n].half())\n", [6]),
    ("            torch.save(x.half().state_dict(), 'x.pt')\n", [6]),
])
def test_inputs_made_on_the_gpu_and_halved(use, expected):
    src = ("import torch\nimport numpy as np\n\n\ndef predict(models, frames, n):\n"
           "    x = torch.tensor(frames, device=\"cuda\").float()\n    x = x.permute((0, 3, 1, 2))\n"
           "    with torch.no_grad():\n        for model in models:\n" + use)
    assert lines(src, RULE) == expected


def test_code_under_a_cuda_device_context_is_gpu_only_by_design():
    # LTSF-Linear's utils/tools.py (sweep 18): `with torch.cuda.device(0):` fails without a GPU
    src = ("import torch\n\n\ndef measure(model, shape):\n    with torch.cuda.device(0):\n"
           "        x = torch.randn(*shape).cuda()\n        return model(x)\n\n\n"
           "def other(x):\n    return x.cuda()\n")
    assert lines(src, RULE) == [11]


def test_a_stream_made_only_under_a_condition_exempts_nothing():
    # the review: `if use_cuda: self.stream = torch.cuda.Stream()` means the class runs on a CPU too
    src = ("import torch\n\n\nclass Prefetcher:\n    def __init__(self, loader, use_cuda):\n"
           "        if use_cuda:\n            self.stream = torch.cuda.Stream()\n"
           "        self.x = next(iter(loader)).cuda(non_blocking=True)\n")
    assert lines(src, RULE) == [8]


# Sweep 19 (fixes applied to real code): the check that one quick fix writes inline,
# `mynet.to("cuda" if torch.cuda.is_available() else "cpu")`, places that one object; it used
# to count as the file's availability decision and silence the other `.cuda()` calls.
@pytest.mark.parametrize("first,expected", [
    ('mynet.to("cuda" if torch.cuda.is_available() else "cpu")\n', [5]),
    ('x = x.to(device="cuda" if torch.cuda.is_available() else "cpu")\n', [5]),
    ('device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\n', []),
    ('use_cuda = torch.cuda.is_available()\n', []),
])
def test_an_inline_check_in_one_move_decides_nothing_else(first, expected):
    src = "import torch\n\nmynet = torch.nn.Linear(8, 2)\n" + first + "feature = feature.cuda()\n"
    assert lines(src, RULE) == expected


# Review of sweep 20: devices held in attributes.
_ATTRIBUTE_CHOSEN_OR_CHECKED = [
    ("a2_ifelse_flag", """import torch

def main(args):
    if args.no_cuda:
        args.device = "cpu"
    else:
        args.device = "cuda"
    model = Net().to(args.device)
"""),
    ("b2_setup_guard", """import torch

class CFG:
    device = "cuda"

def setup():
    if not torch.cuda.is_available():
        CFG.device = "cpu"

def train(model):
    model.to(CFG.device)

setup()
train(Net())
"""),
    ("b3_init_exit", """import sys
import torch

class Trainer:
    def __init__(self, model):
        if not torch.cuda.is_available():
            sys.exit("This trainer needs a GPU")
        self.device = "cuda"
        self.model = model

    def fit(self):
        self.model.to(self.device)
"""),
    ("a5_self_guard_once", """import torch

class Trainer:
    def __init__(self, model):
        self.model = model
        if torch.cuda.is_available():
            self.device = "cuda"

    def fit(self):
        self.model.to(self.device)
"""),
    ("a6_module_args_param", """import torch

args.device = "cuda"

def run(args):
    model = Net().to(args.device)
"""),
]
_ATTRIBUTE_STILL_HARDCODED = [
    ("c5_module_self_cuda_super", """import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def cuda(self, device=None):
        self.moved = True
        return super().to(device or 0)

    def setup(self):
        self.cuda()
"""),
    ("c7_own_cuda_hardcoded_device2", """import torch

class Trainer:
    def __init__(self, model):
        self.model = model
        self.device = "cuda"

    def cuda(self, *batch):
        return [b.to(self.device) for b in batch]

    def fit(self, loader):
        for x, y in loader:
            x, y = self.cuda(x, y)
"""),
    ("b4_cfg_instance_override", """import torch

class Config:
    device = "cuda"

def main(use_gpu):
    cfg = Config()
    model = Net().to(cfg.device)
"""),
]


@pytest.mark.parametrize("name,src", _ATTRIBUTE_CHOSEN_OR_CHECKED, ids=[c[0] for c in _ATTRIBUTE_CHOSEN_OR_CHECKED])
def test_an_attribute_device_chosen_or_checked(name, src):
    """if/else between devices, a setup() that changes it, a check where it is set, another
    object of the same name: nothing hard-coded to report."""
    assert lines(src, RULE) == []


@pytest.mark.parametrize("name,src", _ATTRIBUTE_STILL_HARDCODED, ids=[c[0] for c in _ATTRIBUTE_STILL_HARDCODED])
def test_an_attribute_device_still_hardcoded(name, src):
    """A module's own cuda() that moves to GPU 0, a trainer's cuda() helper moving to a
    self.device set to "cuda", a config instance's class attribute."""
    assert len(lines(src, RULE)) == 1


@pytest.mark.parametrize("condition,expected", [
    ("cuda", []),          # learn2learn's maml_trpo.py (sweep C), as `if cuda: model.cuda()`
    ("args.use_gpu", []),
    ("seed > 0", [10]),    # no condition about the GPU
    (None, [7]),           # chosen unconditionally
])
def test_a_device_name_chosen_under_a_gpu_flag(condition, expected):
    choice = (f"    device_name = 'cpu'\n    if {condition}:\n        torch.cuda.manual_seed(seed)\n"
              "        device_name = 'cuda'\n" if condition else "    device_name = 'cuda'\n")
    src = f"""\
import torch


def main(args, cuda=0, seed=42):
    cuda = bool(cuda)
    torch.manual_seed(seed)
{choice}    device = torch.device(device_name)
    return torch.nn.Linear(3, 3).to(device)
"""
    assert lines(src, RULE) == expected



def test_half_precision_later_in_the_chain():
    """tacotron2's inference notebook (sweep 20): `model.cuda().eval().half()` is half-precision
    inference, meant for a GPU, as `model.half().cuda()` is."""
    src = """\
import torch
model = Net()
model.load_state_dict(torch.load("ckpt.pt"))
_ = model.cuda().eval().half()
x = torch.randn(1, 4).cuda().half()
"""
    assert lines(src, RULE) == []



def test_a_trainer_base_named_like_a_model_is_no_module():
    """`class Trainer(ModelTrainerBase)`: its own cuda() helper moving to a device passed in."""
    assert lines("""import torch

class Trainer(ModelTrainerBase):
    def __init__(self, model, device):
        self.model = model
        self.device = device

    def cuda(self, *tensors):
        return [t.to(self.device) for t in tensors]

    def fit(self, loader):
        for x, y in loader:
            x, y = self.cuda(x, y)
            self.model(x)
""", RULE) == []


_TORCH_NOT_BOUND_THERE = [
    ("f1_local_import", """class CFG:
    device = "cuda"
    lr = 1e-3


def main():
    import torch
    model = torch.nn.Linear(2, 2).to(CFG.device)
    x = torch.zeros(2).to(CFG.device)
"""),
    ("f2_self_local_import", """class Trainer:
    def __init__(self, model):
        self.model = model
        self.device = "cuda"

    def fit(self, loader):
        import torch
        self.model.to(self.device)
"""),
    ("f3_torch_alias_later", """class CFG:
    device = "cuda"

import torch
model = torch.nn.Linear(2, 2).to(CFG.device)
"""),
]


@pytest.mark.parametrize("name,src", _TORCH_NOT_BOUND_THERE, ids=[c[0] for c in _TORCH_NOT_BOUND_THERE])
def test_no_fix_where_torch_is_not_bound(name, src):
    """Second review of sweep 20: the fix writes `torch.cuda.is_available()` where the device is
    set; a class body before `import torch`, or a file importing torch only in a function, would
    raise NameError there."""
    (f,) = findings(src, RULE)
    assert f.fix is None



def test_a_marimo_notebook_importing_a_gpu_only_library_in_a_cell():
    """unsloth's marimo notebooks (sweep 20e): each cell is a function, and the import in the
    first cell is the notebook's, as a module-level import would be."""
    src = """import marimo

app = marimo.App()


@app.cell
def _():
    from unsloth import FastLanguageModel
    import torch
    load_in_4bit = True
    model, tokenizer = FastLanguageModel.from_pretrained(
        model_name="unsloth/Qwen2-7B-bnb-4bit", max_seq_length=2048, load_in_4bit=load_in_4bit,
    )
    return FastLanguageModel, model, tokenizer


@app.cell
def _(FastLanguageModel, model, tokenizer):
    FastLanguageModel.for_inference(model)
    inputs = tokenizer(["Continue the sequence: 1, 1, 2, 3, 5, 8,"], return_tensors="pt").to("cuda")
    outputs = model.generate(**inputs, max_new_tokens=64)
    return


if __name__ == "__main__":
    app.run()
"""
    assert lines(src, RULE) == []
    assert len(lines(src.replace("from unsloth import FastLanguageModel", "from mylib import FastLanguageModel"), RULE)) == 1


_TORCH_BOUND_SPELLINGS = [
    ("f1_multi_import", """import os, torch

model = Net().to("cuda")
"""),
    ("f3_try", """try:
    import torch
except ImportError:
    torch = None

x = torch.zeros(3, device="cuda")
"""),
    ("f4_dotted", """import torch.nn as nn
import torch.optim

x = nn.Linear(3, 3).to("cuda")
"""),
    ("f6_semicolon", """import torch;import numpy as np

x = torch.zeros(3, device="cuda")
"""),
]


@pytest.mark.parametrize("name,src", _TORCH_BOUND_SPELLINGS, ids=[c[0] for c in _TORCH_BOUND_SPELLINGS])
def test_the_fix_is_kept_for_every_spelling_of_the_import(name, src):
    """`import torch, torchvision`, a module-level try, `import torch.optim`, `import torch; ...`
    all bind torch: the fix stays (third review of sweep 20)."""
    assert all(f.fix is not None for f in findings(src, RULE))
    assert findings(src, RULE)


def test_the_fix_is_kept_in_a_crlf_file():
    src = "import torch\r\n\r\nclass CFG:\r\n    device = \"cuda\"\r\n\r\nmodel = Net().to(CFG.device)\r\n"
    (f,) = findings(src, RULE)
    assert f.fix is not None


_STAR_DIST = """\
import torch
from comm import *


class FeatureBuffer:
    def init_buffers(self, shapes):
        rank, size = {rank}
        self.recv = [None if j == rank else torch.zeros(shapes[j], device="cuda")
                     for j in range(size)]
"""


def test_torch_distributed_brought_in_by_a_star_import():
    """BNS-GCN's feature_buffer.py (sweep 21d): `dist` comes from `from helper.timer.timer
    import *`, whose module imports torch.distributed; the file is multi-GPU code."""
    src = _STAR_DIST.format(rank="dist.get_rank(), dist.get_world_size()")
    assert lines(src, RULE) == []


def test_a_star_import_without_distributed_calls_is_still_flagged():
    assert lines(_STAR_DIST.format(rank="0, 1"), RULE) == [8]   # a star import alone says nothing


def test_a_dist_of_the_files_own_is_no_process_group():
    src = _STAR_DIST.format(rank="dist.get_rank(), 2").replace(
        "from comm import *\n", "from comm import *\ndist = LocalComm()\n")
    assert lines(src, RULE) == [9]


_BUILT_AFTER_ASSERT = """\
import torch
import torch.nn as nn


class Seq2Seq(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.out = nn.Linear(hidden, 100)

    def forward(self, h, max_len):
        outputs = torch.zeros(max_len, h.size(0), 100).cuda()
        for t in range(max_len):
            outputs[t] = self.out(h)
        return outputs


def main():
    assert torch.cuda.is_available()
    model = Seq2Seq().cuda()
    print(model(torch.randn(4, 32).cuda(), 5).shape)
{more}

if __name__ == "__main__":
    main()
"""


def test_a_method_of_a_class_built_only_after_a_cuda_assert():
    """keon/seq2seq (sweep 21b): main() asserts a GPU, then builds the model whose forward()
    calls .cuda(); on a CPU machine the program stops at the assert either way."""
    assert lines(_BUILT_AFTER_ASSERT.format(more=""), RULE) == []


@pytest.mark.parametrize("more", [
    "\n\ndef demo():\n    return Seq2Seq()(torch.randn(2, 32), 3)\n",        # built where nothing is checked
    "\n\nclass Bigger(Seq2Seq):\n    pass\n\n\nBigger()\n",                    # a subclass built anywhere
])
def test_a_class_also_built_elsewhere_is_still_flagged(more):
    assert lines(_BUILT_AFTER_ASSERT.format(more=more), RULE) == [11]


@pytest.mark.parametrize("decorator,expected", [
    ('@app.function(image=image, gpu="A100")', []),
    ('@app.function(gpu="L4:4", timeout=3600)', []),
    ("@ray.remote(num_gpus=1)", []),
    ("@app.function(image=image)", [7]),          # no GPU asked for
    ("@ray.remote(num_gpus=0)", [7]),
    ("@app.function(gpu=None)", [7]),
])
def test_a_function_whose_decorator_asks_for_a_gpu(decorator, expected):
    """A CS224n project (sweep 21c): every training function is a Modal function declared with
    `gpu="A100"`, so it only runs in a container that has that GPU."""
    src = f"""\
import modal
import ray
import torch
app = modal.App("train")
{decorator}
def train(epochs: int = 10):
    device = torch.device("cuda")
    return torch.nn.Linear(16, 2).to(device)
"""
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("imp,expected", [
    ("from mypkg.fsdp import get_fsdp_wrapper", []),
    ("from mypkg.dist import ShardedGradScaler", []),
    ("from torch.distributed.fsdp import FullyShardedDataParallel as FSDP", []),
    ("from mypkg.utils import get_wrapper", [6]),
])
def test_fsdp_helpers_from_the_project_mark_multi_gpu_code(imp, expected):
    """dinov2's ssl_meta_arch.py (sweep 21c): FSDP helpers imported from the project's own
    package (`dinov2.fsdp`), not from torch: sharded multi-GPU training all the same."""
    src = f"""\
import torch
{imp}


def forward_backward(backbone, images):
    crops = images["global_crops"].cuda(non_blocking=True)
    return backbone(crops).mean()
"""
    assert lines(src, RULE) == expected


# Sweep 24 (a GPU timing probe): `torch.cuda.synchronize()` is not taken for GPU-only code:
# textbooks call it before moving a model back to the CPU, after `device = torch.device("cuda:0")`
# (rasbt's machine-learning-book ch14), and that hard-coded device is what a CPU laptop meets.
def test_a_cuda_synchronize_is_no_sign_of_gpu_only_code():
    src = """\
import torch
import torch.nn as nn

device = torch.device("cuda:0")
model = nn.Linear(4, 2).to(device)
torch.cuda.synchronize()
model_cpu = model.cpu()
"""
    assert lines(src, RULE) == [4]


# Sweep 25 (sidekit's xvector.py): one worker process per GPU, each given its index. `.cuda(i)`
# with an index the caller passes (or a loop over the GPUs gives) picks one of several GPUs.
@pytest.mark.parametrize("index,expected", [
    ("gpu_id", []),                # the worker's parameter
    ("0", [7, 10]),                # the first GPU, spelt out
    ("", [7, 10]),                 # the current one
    ("args.gpu", [7, 10]),         # one GPU from the command line
    ("current_device", [7, 10]),   # a device object may be the CPU's: `.to()` takes it, `.cuda()` not
])
def test_a_gpu_index_given_to_a_worker(index, expected):
    src = f"""\
import multiprocessing
import torch
import torch.nn as nn


def worker(batches, gpu_id, current_device, args):
    model = nn.Linear(20, 2).cuda({index})
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for x, y in batches:
        loss = nn.functional.cross_entropy(model(x.cuda({index})), y)
        loss.backward()
        opt.step()


def train(shards, n_gpus=4):
    procs = [multiprocessing.Process(target=worker, args=(shards[g], g, None, None)) for g in range(n_gpus)]
"""
    assert lines(src, RULE) == expected


def test_a_loop_over_the_gpus_and_a_lambda_given_the_gpu():
    src = """\
import torch

to_gpu = lambda arr, gpu: arr.cuda(gpu)
shards = [torch.zeros(4).cuda(g) for g in range(2)]
for g in gpus:
    replicas.append(model.cuda(g))
"""
    assert lines(src, RULE) == [4]   # (a comprehension's variable is not followed)


# Sweep 26A (retinanet_pytorch's voc_dataset.py demo): a `torch.device("cuda:0")` that nothing
# reads at all, every `.to(device)` commented out, only builds a device object. A local, or a
# name set under `if __name__ == "__main__":`; any read where the binding reaches keeps it.
_NEVER_READ = """\
import torch

{before}if __name__ == "__main__":
    device = torch.device("cuda:0")
    loader = DataLoader(dataset, batch_size=2)
    for x, y in loader:
{use}"""


@pytest.mark.parametrize("before,use,expected", [
    ("", "        # x = x.to(device)\n        print(x.shape)\n", []),
    ("", "        x = x.to(device)\n        print(x.shape)\n", [4]),
    ("", "        print(f'{x.shape} on {device}')\n", [4]),                    # an f-string reads it
    ("", "        run(x, **locals())\n", [4]),                                # read by name
    ("def step(x):\n    return x.to(device)\n\n\n", "        step(x)\n", [8]),   # a global read above
    ("def step(x, device='cpu'):\n    return x.to(device)\n\n\n", "        step(x)\n", []),  # its own
])
def test_a_cuda_device_nothing_reads(before, use, expected):
    assert lines(_NEVER_READ.format(before=before, use=use), RULE) == expected


@pytest.mark.parametrize("src,expected", [
    ("import torch\n\n\ndef main():\n    device = torch.device('cuda')\n    model = Net()\n", []),
    ("import torch\n\n\ndef main():\n    device = torch.device('cuda')\n\n    def move(m, d=device):\n"
     "        return m.to(d)\n", [5]),                                           # a default reads it
    ("import torch\n\ndevice = torch.device('cuda')\nmodel = Net()\n", [3]),   # another module may import it
    ("import torch\n\n\nclass Config:\n    device = torch.device('cuda')\n", [5]),
])
def test_a_cuda_device_nothing_reads_in_a_function_or_module(src, expected):
    assert lines(src, RULE) == expected


def test_a_cuda_device_a_later_notebook_cell_reads():
    cells = ["import torch\ndevice = torch.device('cuda')\n", "model = Net()\n"]
    assert notebook(cells, RULE) == []
    cells.append("model = model.to(device)\n")
    assert [f.location.cell for f in notebook(cells, RULE)] == [0]


# Sweep 26B: a helper of the file that stops the program without a GPU, called first thing,
# guards the code after it as the same check written inline does.
_CHECK_GPU = """\
import sys
import torch


def check_gpu():
    if not torch.cuda.is_available():
{stop}


def main():
{call}    device = torch.device("cuda")
    model = Net().to(device)
"""


@pytest.mark.parametrize("stop,call,expected", [
    ('        print("This script needs a GPU.")\n        sys.exit(1)', "    check_gpu()\n", []),
    ('        raise RuntimeError("no GPU")', "    check_gpu()\n", []),
    ('        exit()', "    check_gpu()\n", []),
    ('        print("No GPU found.")', "    check_gpu()\n", [12]),              # only warns
    ('        sys.exit(1)', "    if args.strict:\n        check_gpu()\n", [13]),   # only sometimes
    ('        sys.exit(1)', "    x = torch.zeros(3).cuda()\n    check_gpu()\n", [11, 13]),   # too late
    ('        sys.exit(1)', "", [11]),                                          # never called there
])
def test_a_helper_that_stops_without_a_gpu(stop, call, expected):
    assert lines(_CHECK_GPU.format(stop=stop, call=call), RULE) == expected


@pytest.mark.parametrize("more,expected", [
    ("", []),   # main() runs only from there, after the check
    ("\n\ndef demo():\n    return main()\n", [11]),   # also called where nothing is checked
])
def test_a_helper_that_stops_called_under_main(more, expected):
    src = (_CHECK_GPU.format(stop="        sys.exit(1)", call="") + more
           + '\n\nif __name__ == "__main__":\n    check_gpu()\n    main()\n')
    assert lines(src, RULE) == expected


# -- a class of another file of the project with a cuda() of its own ---------------------------
FRAMEWORK = """\
import torch
import torch.nn as nn


class Framework:
    \"\"\"Owns the model, its optimizer and loaders (not an nn.Module).\"\"\"

    def __init__(self):
        self.model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))

    def cuda(self):
        self.model.cuda()
        self.model = nn.DataParallel(self.model)

    def train_epoch(self):
        pass
"""

TRAIN_FRAMEWORK = """\
import torch
from lib.framework import Framework


def train(framework, epochs=10):
    framework.cuda()
    for epoch in range(epochs):
        framework.train_epoch()


if __name__ == "__main__":
    train(Framework())
"""


def test_a_trainer_class_of_another_file_whose_cuda_targets_several_gpus():
    # seen in public code (sweep 27): the project's Framework.cuda() wraps the model in
    # DataParallel, which that file's own guards exempt: its callers are not reported either
    assert two_files(FRAMEWORK, TRAIN_FRAMEWORK, RULE, models_path="lib/framework.py") == []


def test_a_trainer_class_whose_cuda_is_a_plain_move_is_reported_without_a_fix():
    plain = FRAMEWORK.replace("        self.model = nn.DataParallel(self.model)\n", "")
    (f,) = two_files(plain, TRAIN_FRAMEWORK, RULE, models_path="lib/framework.py")
    assert f.location.line + 1 == 6 and f.fix is None   # (Framework has no .to())
    assert "the class's own `cuda()`" in f.message


def test_a_cuda_method_that_names_no_cuda_is_the_project_own_business():
    helper = FRAMEWORK.replace("        self.model.cuda()\n        self.model = nn.DataParallel(self.model)\n",
                               "        self.model.to(self.device)\n")
    assert two_files(helper, TRAIN_FRAMEWORK, RULE, models_path="lib/framework.py") == []


def test_a_class_of_another_module_path_is_not_taken_for_it():
    other = TRAIN_FRAMEWORK.replace("from lib.framework import Framework", "from other.framework import Framework")
    (f,) = two_files(FRAMEWORK, other, RULE, models_path="lib/framework.py")
    assert f.location.line + 1 == 6 and f.fix is not None


def test_a_model_class_with_its_own_cuda_override_is_still_a_module():
    model = FRAMEWORK.replace("class Framework:", "class Framework(nn.Module):")
    (f,) = two_files(model, TRAIN_FRAMEWORK, RULE, models_path="lib/framework.py")
    assert f.location.line + 1 == 6
