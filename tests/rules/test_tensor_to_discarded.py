"""tensor-to-discarded: `x.to(device)` on a tensor whose result is thrown away."""
import pytest
from conftest import apply_fix, findings, lines, notebook

RULE = "tensor-to-discarded"

BUGGY = [
    ("loader_batch_parts", """\
import torch

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
model = Net().to(device)
for x, y in train_loader:
    x.to(device)
    y = y.to(device)
    loss = loss_fn(model(x), y)
""", [6]),
    ("enumerate_tqdm_nested_pattern", """\
for i, (images, labels) in enumerate(tqdm(dataloader)):
    images.cuda()
    labels.cuda()
    out = model(images)
""", [2, 3]),
    ("tuple_statement_after_squeeze", """\
for i, (X, y, edges) in enumerate(loader):
    X, y, edges = X.squeeze(), y.squeeze(), edges.squeeze()
    X.to(device), y.to(device), edges.to(device)
    out = model(X)
""", [3, 3, 3]),
    ("dataloader_instance_any_name", """\
from torch.utils.data import DataLoader

batches = DataLoader(ds, batch_size=32, shuffle=True)
for inputs, targets in batches:
    inputs.to("cuda")
""", [5]),
    ("next_iter_loader", """\
images, labels = next(iter(trainloader))
images.to(device)
""", [2]),
    ("item_of_a_whole_batch", """\
for batch in val_loader:
    batch[0].to(device)
    batch["labels"].cuda()
""", [2, 3]),
    ("torch_factory_and_dtype_cast", """\
import torch

t = torch.from_numpy(arr)
t.float()
w = torch.zeros(3, 3)
w.cuda()
""", [4, 6]),
    ("dataloaders_dict", """\
for phase in ["train", "val"]:
    for inputs, labels in dataloaders[phase]:
        inputs.to(device)
""", [3]),
    ("tokenizer_output_items", """\
from transformers import AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("gpt2")

def step(model, texts, device):
    inputs = tokenizer(texts, return_tensors="pt", padding=True)
    inputs.to(device)
    labels = inputs.input_ids.clone()
    labels.to(device)
    mask = inputs["attention_mask"]
    mask.to(device)
    ids = tokenizer.encode(texts[0], return_tensors="pt")
    ids.cuda()
    return model(**inputs, labels=labels)
""", [9, 11, 13]),
    ("parameter_every_caller_passes_a_batch_tensor", """\
def train_step(model, x, y, device):
    x.to(device)
    y.to(device)
    return loss_fn(model(x), y)

for xb, yb in train_loader:
    train_step(model, xb, yb, device)
for i, (a, b) in enumerate(val_loader):
    train_step(model, a, y=b, device=device)
""", [2, 3]),
    ("parameter_annotated_as_tensor", """\
import torch
from torch import Tensor

def prepare(images: torch.Tensor, labels: Tensor, mask: "torch.Tensor" = None):
    images.cuda()
    labels.long()
    mask.to("cuda")
""", [5, 6, 7]),
    ("init_parameter_of_a_class_called_with_a_factory_tensor", """\
import torch

class Holder:
    def __init__(self, weights):
        weights.to("cuda")
        self.weights = weights

h = Holder(torch.randn(3, 3))
""", [5]),
    ("a_stored_tensor_cast_then_moved", """\
import torch

x = torch.zeros(3)
x.float().cuda()
""", [4]),
]

CORRECT = [
    # huggingface/notebooks (safetensors' speed test): a throwaway tensor starts CUDA before timing
    ("cuda_warm_up_with_a_throwaway_tensor", """\
import torch

torch.zeros((2, 2)).cuda()
torch.ones((1, 1)).to("cuda")
torch.zeros(2).float().cuda()
""",),
    ("assigned", """\
for x, y in train_loader:
    x = x.to(device)
    y, z = y.to(device), y.cuda()
    loss = loss_fn(model(x), y)
""",),
    ("module_to_is_in_place", """\
import torch.nn as nn

model = Net()
model.to(device)
head = nn.Linear(4, 2)
head.cuda()
model.float()
""",),
    ("whole_batch_may_move_in_place", """\
# Hugging Face BatchEncoding and PyG Data/Batch: .to() moves their tensors in place
for batch in train_loader:
    batch.to(device)
for i, data in enumerate(loader):
    data.to(device)
""",),
    ("unknown_receiver", """\
def step(x, y):
    x.to(device)
for a, b in zip(xs, ys):
    a.to(device)
""",),
    ("used_as_argument_or_returned", """\
for x, y in train_loader:
    out = model(x.to(device))
    print(y.cpu())
    losses.append(y.float())
def move(t):
    return t.to(device)
""",),
    ("enumerate_counter_and_whole_batch", """\
for i, batch in enumerate(train_loader):
    i.to(device)
    batch.to(device)
""",),
    ("parameter_callers_disagree_or_unknown", """\
def step(model, x, device):
    x.to(device)          # a module for one caller: Module.to() is in place

for xb, yb in train_loader:
    step(model, xb, device)
step(model, net, device)

def move(batch, device):
    batch.to(device)      # never called in this file: unknown

def run(t, device):
    t.to(device)

run(*args)                # what it passes is unknown
""",),
    ("parameter_annotated_as_module_or_other", """\
import torch
from torch import nn

def place(model: nn.Module, t: "np.ndarray", d: torch.device, x: torch.Tensor):
    model.to(d)
    t.float()
    d.cpu()
    x = x.to(d)           # assigned: fine
""",),
    ("parameter_of_a_method_called_by_attribute", """\
class Trainer:
    def step(self, x):
        x.to(self.device)   # obj.step(...) calls cannot be matched by name

for xb, yb in train_loader:
    trainer.step(xb)
""",),
    ("not_a_loader", """\
for x, y in pairs:
    x.to(device)
""",),
    ("to_of_a_module_from_a_tensor_lookalike_name", """\
loader_model = torch.nn.Linear(3, 1)
loader_model.to(device)
""",),
    ("tokenizer_output_itself_or_not_torch", """\
def step(model, tokenizer, processor, texts, images, device):
    enc = tokenizer(texts, return_tensors="pt")
    enc.to(device)                      # BatchEncoding.to moves its tensors in place
    feats = processor(images=images, return_tensors="pt")
    feats.to(device)
    first = enc[0]                      # a tokenizers Encoding, not a tensor
    first.to(device)
    arrays = tokenizer(texts, return_tensors="np")
    ids = arrays["input_ids"]
    ids.to(device)
    plain = tokenizer(texts)
    plain.input_ids.to(device)
    return enc.data.to(device)
""",),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_names_the_tensor_and_its_source():
    (f,) = findings("for x, y in train_loader:\n    x.to(device)\n", RULE)
    assert "`x` stays on its old device" in f.message
    assert "x = x.to(device)" in f.message
    assert f.related[0].message == "`x` is part of a batch from `train_loader`"
    assert f.concept == "device-placement"


def test_fix_assigns_the_result():
    src = "for x, y in train_loader:\n    x.to(device)\n"
    (f,) = findings(src, RULE)
    assert apply_fix(src, f) == "for x, y in train_loader:\n    x = x.to(device)\n"


def test_fix_assigns_every_value_of_a_tuple_statement():
    src = "for x, y in loader:\n    x.to(device), y.to(device)\n"
    found = findings(src, RULE)
    assert len(found) == 2
    fixed = apply_fix(src, found[0])
    assert fixed == "for x, y in loader:\n    x, y = x.to(device), y.to(device)\n"
    assert lines(fixed, RULE) == []


def test_no_fix_for_a_subscript_or_a_mixed_tuple():
    for src in ("for batch in loader:\n    batch[0].to(device)\n",
                "for x, y in loader:\n    x.to(device), print(y)\n"):
        (f,) = findings(src, RULE)
        assert f.fix is None, src


def test_notebook_cast_shown_as_cell_output_is_not_reported():
    # The last line of a cell is displayed: `t.float()` there is a look, not a lost assignment.
    cells = ["import torch\nt = torch.arange(4)\n", "t.float()\n", "t.float()\nprint(t.dtype)\n",
             "t.cuda()\n"]
    found = notebook(cells, RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(2, 0), (3, 0)]
    # A displayed move is reported, but not fixed: deleting or assigning it changes what the
    # cell shows (sweep 19: a tutorial's next markdown cell discusses that output).
    assert found[0].fix is not None and found[1].fix is None


def test_parts_unpacked_from_a_whole_batch():
    src = """\
for i, data in enumerate(train_loader, 0):
    inputs, labels = data
    inputs.to(device)
    labels.to(device)
    outputs = net(inputs)
"""
    assert lines(src, RULE) == [3, 4]


def test_redundant_move_reassigned_right_after_is_still_reported_as_no_effect():
    # A public tutorial: the bare lines do nothing; the next line does the move.
    src = """\
for i, data in enumerate(train_loader, 0):
    inputs, labels = data
    inputs.to(device)
    inputs, labels = inputs.to(device), labels.to(device)
"""
    (f,) = findings(src, RULE)
    assert "has no effect" in f.message and "different devices" not in f.message
    assert f.severity.name == "WARNING"
    assert apply_fix(src, f) == src.replace("    inputs.to(device)\n", "", 1)


def test_redundant_only_when_the_next_mention_is_the_assignment():
    src = """\
for x, y in loader:
    x.to(device)
    out = model(x)
    x = x.to(device)
"""
    (f,) = findings(src, RULE)
    assert f.severity.name == "ERROR"


def test_field_read_straight_off_the_tokenizer_call():
    # seen in public code: the moved copy is dropped, and the model gets the CPU tensor
    src = """\
def relevance(model, tokenizer, text, device):
    input_ids = tokenizer.encode_plus(text, return_tensors="pt").input_ids
    input_ids.to(device)
    return model(input_ids)
"""
    (f,) = findings(src, RULE)
    assert f.location.line + 1 == 3
    assert "holds torch tensors" in f.related[0].message
    assert apply_fix(src, f).splitlines()[2].strip() == "input_ids = input_ids.to(device)"


def test_parameter_finding_names_the_caller():
    src = ("def step(model, x, device):\n    x.to(device)\n\n"
           "for xb, yb in train_loader:\n    step(model, xb, device)\n")
    (f,) = findings(src, RULE)
    assert f.related[0].message == "`x` is a tensor: `step(...)` is called with `xb` (part of a batch from `train_loader`)"
    assert f.related[0].location.line == 4   # (0-based) the call `step(model, xb, device)`


def test_a_semicolon_hides_the_last_statement_of_a_cell():
    cells = ["import torch\nt = torch.arange(4)\n", "t.cuda();\n"]
    (f,) = notebook(cells, RULE)
    assert f.fix is not None


_GRAPH_PAIRS = """\
import torch
{imp}


def get_embeddings(model, loader):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    ret = []
    with torch.no_grad():
        for data in loader:
            data = data[0]
            data.to(device)
            ret.append(model(data.x, data.edge_index, data.batch).cpu())
    return torch.cat(ret)


loader = DataLoader(dataset, batch_size=128, shuffle=False)
emb = get_embeddings(model, loader)
"""


@pytest.mark.parametrize("imp", ["from torch_geometric.data import DataLoader",
                                 "from torch_geometric.loader import DataLoader"])
def test_an_item_of_a_graph_loaders_batch_is_a_graph(imp):
    """GraphCL's gin.py (sweep 21d): the dataset yields (graph, augmented graph) pairs, so
    `data[0]` is a PyG Batch, whose .to() moves its tensors in place."""
    assert lines(_GRAPH_PAIRS.format(imp=imp), RULE) == []


def test_an_item_of_a_torch_loaders_batch_is_still_a_tensor():
    src = _GRAPH_PAIRS.format(imp="from torch.utils.data import DataLoader")
    assert lines(src, RULE) == [11]


def test_an_item_of_a_batch_of_a_loader_handed_in_to_a_graph_file():
    """GraphCL's real gin.py: `get_embeddings(self, loader)` receives the loader; the file
    imports PyTorch Geometric's DataLoader."""
    src = """\
import torch
from torch_geometric.data import DataLoader


class Encoder(torch.nn.Module):
    def get_embeddings(self, loader):
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        with torch.no_grad():
            for data in loader:
                data = data[0]
                data.to(device)
"""
    assert lines(src, RULE) == []
    assert lines(src.replace("from torch_geometric.data import DataLoader", "from torch.utils.data import DataLoader"), RULE) == [11]


def test_dgl_graphs_and_labels_are_copied_by_to():
    """Review: DGL's `DGLGraph.to()` returns a copy ("the original graph is still on CPU"), and
    the labels of a `(graph, labels)` batch are tensors."""
    src = """\
import torch
from dgl.dataloading import GraphDataLoader

loader = GraphDataLoader(dataset, batch_size=32, shuffle=True)
for batched_graph, labels in loader:
    batched_graph.to(device)
    labels.to(device)
"""
    assert lines(src, RULE) == [6, 7]


def test_parts_of_an_unknown_loaders_batches_in_a_pyg_file_are_tensors():
    src = """\
import torch
import torch_geometric


def evaluate(model, loader, device):
    for feats, labels in loader:
        feats.to(device)
        labels.to(device)
"""
    assert lines(src, RULE) == [7, 8]


def test_move_of_a_tensor_only_read_for_its_size_is_reported_as_no_effect():
    # seen in public code (a sign-language trainer): the batch itself goes to a helper that
    # moves it; the bare line's tensor is only counted, so nothing crashes: a dead line
    src = """\
for batch in loader:
    feat, _ = batch
    feat.to(device)
    loss = train_batch(model, batch, optimizer, device)
    running += loss * feat.size(0)
    seen += len(feat) + feat.shape[0]
"""
    (f,) = findings(src, RULE)
    assert "has no effect" in f.message and "only read for its size" in f.message
    assert f.severity.name == "WARNING"
    assert apply_fix(src, f) == src.replace("    feat.to(device)\n", "", 1)


@pytest.mark.parametrize("later", [
    "    out = model(feat)\n    n += feat.size(0)\n",          # a real use after it
    "    n += feat.size(0)\n    print(feat.mean())\n",          # a value read, not a size
    "    n += feat.size(0)\n    other(feat)\n",                 # handed on
    "    n += feat.size(0)\n    dev = feat.device\n",           # the device itself
])
def test_move_of_a_tensor_used_after_it_stays_an_error(later):
    src = "for feat, y in loader:\n    feat.to(device)\n" + later
    (f,) = findings(src, RULE)
    assert f.severity.name == "ERROR" and "different devices" in f.message


def test_a_use_earlier_in_the_loop_body_counts_for_the_next_iteration():
    src = """\
import torch

feat = torch.randn(4, 10)
for step in range(10):
    out = model(feat)
    feat.to(device)
    n += feat.size(0)
"""
    (f,) = findings(src, RULE)
    assert f.severity.name == "ERROR" and "different devices" in f.message


def test_size_reads_after_a_rebinding_do_not_hide_a_use_before_it():
    src = """\
for feat, y in loader:
    feat.to(device)
    loss = criterion(model(feat), y)
    feat = other_batch()
    n += feat.size(0)
"""
    (f,) = findings(src, RULE)
    assert f.severity.name == "ERROR"
