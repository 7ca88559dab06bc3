"""loss-accumulates-graph: summing loss tensors keeps every iteration's autograd graph alive."""
import pytest

from conftest import apply_fix, findings, lines, notebook, parses

RULE = "loss-accumulates-graph"

BUGGY = [
    # Made new in the epoch loop, appended to in the batch loop: it spans the epoch.
    ("list_made_new_per_epoch_spans_the_batches", """\
import torch
criterion = torch.nn.CrossEntropyLoss()
for epoch in range(10):
    epoch_losses = []
    for x, y in loader:
        loss = criterion(model(x), y)
        epoch_losses.append(loss)
    print(sum(epoch_losses))
""", [7]),
    # a reset that is not at the optimizer step leaves a long chain (review of session 14)
    ("lazy_first_value_then_plus_equals", """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
total_loss = None
for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    if total_loss is None:
        total_loss = loss
    else:
        total_loss += loss
""", [13]),
    ("reset_on_the_first_iteration_only", """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
for step, (x, y) in enumerate(loader):
    if step == 0:
        epoch_loss = 0.0
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    epoch_loss += loss
""", [10]),
    ("reset_for_a_log_line_every_2000_batches", """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
running_loss = 0.0
for i, (x, y) in enumerate(trainloader):
    optimizer.zero_grad()
    loss = criterion(net(x), y)
    loss.backward()
    optimizer.step()
    running_loss += loss
    if i % 2000 == 1999:
        print(running_loss / 2000)
        running_loss = 0.0
""", [10]),
    ("backpropagated_cost_in_a_file_without_the_word", """\
total = 0
for x, y in batches:
    cost = ((net(x) - y) ** 2).mean()
    cost.backward()
    opt.step()
    total += cost
""", [6]),
    # without backward, each iteration until the reset keeps its saved activations
    ("eval_total_reset_every_hundred_batches", """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
total = 0.0
for i, (x, y) in enumerate(val_loader):
    total += criterion(model(x), y)
    if i % 100 == 99:
        print(total / 100)
        total = 0.0
""", [6]),
    # wandb's sacred example: a total over the whole run
    ("backpropagated_loss_added_to_a_run_total", """\
total_loss = 0
for epoch in range(num_epochs):
    for images, labels in train_loader:
        loss = self.loss_fn(self.model(images), labels)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        total_loss = total_loss + loss
""", [8]),
    ("running_loss_plus_equals", """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
running_loss = 0.0
for inputs, labels in trainloader:
    optimizer.zero_grad()
    loss = criterion(net(inputs), labels)
    loss.backward()
    optimizer.step()
    running_loss += loss
""", [10]),
    ("functional_loss_summed_directly", """\
import torch.nn.functional as F

total = 0
for x, y in loader:
    total += F.cross_entropy(model(x), y)
""", [5]),
    ("losses_append", """\
import torch.nn as nn

loss_fn = nn.MSELoss()
history = []
for epoch in range(10):
    for x, y in loader:
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        history.append(loss)
""", [10]),
    ("weighted_sum_without_item", """\
import torch.nn.functional as F

epoch_loss = 0.0
for x, y in loader:
    loss = F.mse_loss(model(x), y)
    loss.backward()
    epoch_loss += loss * x.size(0)
""", [7]),
    ("plain_reassignment", """\
import torch.nn as nn

crit = nn.L1Loss()
total_loss = 0
for x, y in loader:
    loss = crit(model(x), y)
    loss.backward()
    total_loss = total_loss + loss
""", [8]),
    ("huggingface_outputs_loss", """\
tr_loss = 0.0
for batch in dataloader:
    outputs = model(**batch)
    outputs.loss.backward()
    tr_loss += outputs.loss
""", [5]),
    # d2l-pytorch's SSD notebook: the loss comes from a user module returning a tuple; the
    # tensor that is backpropagated is then added to the epoch's total
    ("backpropagated_tensor_from_a_tuple", """\
import torch.nn as nn

class SSDLoss(nn.Module):
    def forward(self, cls_hat, bb_hat, cls_true, bb_true):
        loc = (bb_hat - bb_true).abs().sum()
        cls = (cls_hat - cls_true).pow(2).sum()
        return loc + cls, loc, cls

loss = SSDLoss()
for epoch in range(10):
    train_loss = 0.0
    for x, bb_true, cls_true in train_loader:
        cls_preds, bbox_preds = net(x)
        batch_loss, batch_loc, batch_cls = loss(cls_preds, bbox_preds, cls_true, bb_true)
        optimizer.zero_grad()
        batch_loss.backward()
        optimizer.step()
        train_loss += batch_loss
    print(train_loss.item() / len(train_loader))
""", [18]),
]

CORRECT = [
    # PPLM (sweep 20): the list is made new in every pass of the loop that appends to it.
    ("list_made_new_in_each_pass", """\
import torch

def perturb(model, classifier, x, label, num_iterations=3):
    delta = torch.zeros_like(x, requires_grad=True)
    ce_loss = torch.nn.CrossEntropyLoss()
    for i in range(num_iterations):
        loss = 0.0
        loss_list = []
        discrim_loss = ce_loss(classifier(model(x + delta)), label)
        loss += discrim_loss
        loss_list.append(discrim_loss)
        loss.backward()
        delta.data -= 0.01 * delta.grad
        delta.grad.zero_()
    return delta
"""),
    # DeeBERT (sweep 20): forward packs the sum of the exits' losses into the returned tuple.
    ("losses_packed_into_the_returned_outputs", """\
import torch.nn as nn
from torch.nn import CrossEntropyLoss

class HighwayModel(nn.Module):
    def forward(self, outputs, labels=None, train_highway=False):
        if labels is not None:
            highway_losses = []
            for highway_exit in outputs[-1]:
                highway_loss = CrossEntropyLoss()(highway_exit[0].view(-1, 3), labels.view(-1))
                highway_losses.append(highway_loss)
            if train_highway:
                outputs = (sum(highway_losses[:-1]),) + outputs
        return outputs
"""),
    # jindongwang/transferlearning DAAN: per-head total, backpropagated through a scaled copy
    ("total_backpropagated_through_intermediate_names", """\
import torch.nn.functional as F

for x, y in loader:
    optimizer.zero_grad()
    outs = model(x)
    loss_s = 0.0
    for i in range(num_heads):
        loss_s += F.nll_loss(outs[i], y)
    local_loss = 0.01 * loss_s
    loss = F.nll_loss(outs[-1], y) + local_loss
    loss.backward()
    optimizer.step()
""",),
    # DAAN again: reset in the batch loop, summed in a loop inside it, read with .item()
    ("reset_in_the_batch_loop_summed_in_an_inner_loop", """\
import torch.nn.functional as F

for x, y in loader:
    optimizer.zero_grad()
    outs = model(x)
    d_c = 0
    for i in range(num_heads):
        d_c += 2 * (1 - 2 * F.nll_loss(outs[i], y))
    total_dc = d_c.item()
    loss = F.nll_loss(outs[-1], y)
    loss.backward()
    optimizer.step()
""",),
    # DomainBed-style `update()`: the losses of one batch's domains, one step per call
    ("total_local_to_a_function_that_steps_once", """\
import torch
import torch.nn.functional as F


def update(network, minibatches, opt):
    total_loss = 0
    for x, y in minibatches:
        env_loss = F.cross_entropy(network(x), y)
        total_loss += env_loss
        grads = torch.autograd.grad(env_loss, network.parameters())
    opt.step()
    return total_loss.item()
""",),
    ("tuple_reset_at_the_optimizer_step", """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
accum_loss, n = 0.0, 0
for i, (x, y) in enumerate(loader):
    loss = criterion(model(x), y) / 4
    loss.backward()
    accum_loss += loss
    if (i + 1) % 4 == 0:
        optimizer.step(); optimizer.zero_grad()
        print(accum_loss)
        accum_loss, n = 0.0, 0
""",),
    # torchtune's recipes: the total of one optimizer step's micro-batches, logged and reset
    ("total_of_the_micro_batches_of_one_step", """\
running_loss = 0
for idx, batch in enumerate(dataloader):
    current_loss = loss_step(model, batch) / accumulation_steps
    running_loss += current_loss
    current_loss.backward()
    if (idx + 1) % accumulation_steps == 0:
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        log({"loss": running_loss.item()})
        running_loss = 0
""",),
    # accelerate's megatron example: the outputs are computed under no_grad, their loss read after
    ("loss_attribute_of_outputs_computed_under_no_grad", """\
import torch

def evaluate(model, eval_dataloader):
    model.eval()
    losses = []
    for batch in eval_dataloader:
        with torch.no_grad():
            outputs = model(**batch)
        loss = outputs.loss
        losses.append(loss)
    return torch.stack(losses).mean()
""",),
    # d2l-pytorch's SSD loss: a sum per box inside a sum per image, returned to the caller
    ("nested_sums_in_a_loss_module", """\
import torch.nn as nn
import torch.nn.functional as F

class BoxLoss(nn.Module):
    def forward(self, bb_hat, bb_true):
        loc_loss = 0.0
        for i in range(len(bb_true)):
            temp = 0.0
            for j in range(3):
                temp += F.smooth_l1_loss(bb_hat[i, j], bb_true[i, j], reduction="sum")
            loc_loss += temp / 3
        return loc_loss
""",),
    ("backpropagated_then_rebound_to_a_float", """\
total = 0.0
for x, y in loader:
    loss = compute_loss(model(x), y)
    loss.backward()
    loss = loss.item()
    total += loss
""",),
    ("another_tensor_than_the_backpropagated_one", """\
total = 0.0
for x, y in loader:
    loss = compute_loss(model(x), y)
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        loss = compute_loss(model(x), y)
    total += loss
""",),
    ("item_accumulation", """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
running_loss = 0.0
for inputs, labels in trainloader:
    loss = criterion(net(inputs), labels)
    loss.backward()
    running_loss += loss.item()
    running_loss += loss.item() * inputs.size(0)
""",),
    ("detach_accumulation", """\
import torch.nn.functional as F

losses = []
for x, y in loader:
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    losses.append(loss.detach())
    losses.append(loss.detach().cpu())
""",),
    ("total_of_two_losses_backpropagated", """\
import torch.nn.functional as F

for x, y in loader:
    loss1 = F.cross_entropy(head1(x), y)
    loss2 = F.mse_loss(head2(x), z)
    total_loss = loss1 + loss2
    total_loss.backward()
""",),
    ("multi_task_sum_then_backward", """\
import torch.nn as nn

crit = nn.CrossEntropyLoss()
for x, ys in loader:
    loss = 0
    for head, y in zip(heads, ys):
        loss += crit(head(x), y)
    loss.backward()
""",),
    ("append_then_stack_backward", """\
import torch
import torch.nn.functional as F

for batch in loader:
    losses = []
    for t in range(T):
        losses.append(F.mse_loss(model(batch[t]), batch[t + 1]))
    torch.stack(losses).mean().backward()
""",),
    ("append_then_sum_assigned_backward", """\
import torch.nn.functional as F

for batch in loader:
    losses = []
    for k in range(3):
        losses.append(F.l1_loss(model(batch), target[k]))
    total = sum(losses)
    total.backward()
""",),
    ("validation_under_no_grad", """\
import torch
import torch.nn.functional as F

val_loss = 0
with torch.no_grad():
    for x, y in val_loader:
        val_loss += F.cross_entropy(model(x), y)
""",),
    ("loss_computed_under_no_grad_appended_outside", """\
import torch
import torch.nn.functional as F

losses = []
for x, y in val_loader:
    with torch.no_grad():
        loss = F.cross_entropy(model(x), y)
    losses.append(loss)
""",),
    ("validate_helper_called_under_no_grad", """\
import torch
import torch.nn.functional as F

def validate(model, loader):
    total = 0.0
    for x, y in loader:
        total += F.cross_entropy(model(x), y)
    return total / len(loader)

with torch.no_grad():
    val_loss = validate(model, val_loader)
""",),
    # chenyuntc/pytorch-book Chapter12: a loss helper sums one term per feature layer and returns
    # the total for the caller to backpropagate.
    ("loss_helper_sums_terms_over_layers", """\
import torch.nn as nn

class Model(nn.Module):
    def get_style_loss(self, content, style):
        loss = 0
        for i, j in zip(content, style):
            loss += nn.functional.mse_loss(i.mean(), j.mean())
        return loss
""",),
    ("forward_of_a_loss_module_sums_terms", """\
import torch.nn as nn
import torch.nn.functional as F

class MultiScaleLoss(nn.Module):
    def forward(self, preds, target):
        total = 0
        for p in preds:
            total = total + F.l1_loss(p, target)
        return total
""",),
    ("not_a_loss", """\
correct = 0
for x, y in loader:
    correct += (model(x).argmax(1) == y).sum()
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
        "import torch.nn as nn\ncriterion = nn.CrossEntropyLoss()\nrunning = 0.0\n",
        "for x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\n    running += loss\n",
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 3)]


@pytest.mark.parametrize("src", [b[1] for b in BUGGY if b[0] in ("running_loss_plus_equals", "losses_append")])
def test_fix_uses_item(src):
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert parses(fixed) and "loss.item()" in fixed
    assert lines(fixed, RULE) == []


# Look-alikes of the silent cases above that must still be reported.
STILL_FLAGGED = [
    # a sum of sums inside a loss-named helper, but over the whole loader
    ("sum_of_sums_over_a_loader", """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()

def compute_loss(model, loader):
    total = 0
    for x, y in loader:
        temp = 0
        for head in model.heads:
            temp += criterion(head(x), y)
        total += temp / len(model.heads)
    return total / len(loader)
""", [10]),
    ("loss_named_helper_over_a_loader", """\
import torch.nn.functional as F

def eval_loss(model, loader):
    total = 0
    for x, y in loader:
        total += F.cross_entropy(model(x), y)
    return total / len(loader)
""", [6]),
    # a validation total reset in the epoch loop: the backward passes are in the batch loop,
    # so the total holds the graphs of the whole validation pass
    ("validation_total_reset_per_epoch_next_to_training", """\
import torch.nn.functional as F

for epoch in range(10):
    for x, y in train_loader:
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    val_loss = 0
    for x, y in val_loader:
        val_loss += F.cross_entropy(model(x), y)
    print(val_loss.item())
""", [10]),
    # a function that evaluates (no step): its total spans the loader
    ("total_local_to_a_function_without_a_step", """\
import torch.nn.functional as F


def score(network, loader):
    total_loss = 0
    for x, y in loader:
        total_loss += F.cross_entropy(network(x), y)
    return total_loss.item()
""", [7]),
    # a function that steps in the loop (once per batch) and totals over all of them
    ("total_local_to_a_function_stepping_per_batch", """\
import torch.nn.functional as F


def fit(network, loader, opt):
    total_loss = 0
    for x, y in loader:
        loss = F.cross_entropy(network(x), y)
        opt.zero_grad()
        torch.autograd.backward(loss)
        opt.step()
        total_loss += loss
    return total_loss.item()
""", [11]),
    # review 17: one step per call, but the total sums a validation loader after the step
    ("function_stepping_once_then_summing_validation_losses", """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()


def train_and_validate(model, optimizer, x, y, val_loader):
    val_loss = 0
    optimizer.zero_grad()
    criterion(model(x), y).backward()
    optimizer.step()
    for xv, yv in val_loader:
        val_loss += criterion(model(xv), yv)
    return val_loss.item() / len(val_loader)
""", [12]),
    # reset in the batch loop's body, but summed over a validation loader after the step
    ("validation_total_per_batch_after_the_step", """\
import torch.nn.functional as F

for x, y in train_loader:
    optimizer.zero_grad()
    F.cross_entropy(model(x), y).backward()
    optimizer.step()
    val_total = 0
    for xv, yv in val_loader:
        val_total += F.cross_entropy(model(xv), yv)
""", [9]),
    ("loss_named_helper_that_trains", """\
import torch.nn.functional as F

def train_loss(model, batches, opt):
    total = 0
    for x, y in zip(xs, ys):
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        total += loss
    return total
""", [9]),
]


@pytest.mark.parametrize("name,src,expected", STILL_FLAGGED, ids=[b[0] for b in STILL_FLAGGED])
def test_still_flags(name, src, expected):
    assert lines(src, RULE) == expected


def test_message_says_what_grows():
    """With a backward pass in the loop the activations are freed and only the chain of graph
    nodes grows; without one (an eval loop outside no_grad) every batch's activations stay."""
    training = """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
total = 0
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    total += loss
"""
    evaluating = """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
total = 0
for x, y in loader:
    loss = criterion(model(x), y)
    total += loss
"""
    (train_finding,) = findings(training, RULE)
    (eval_finding,) = findings(evaluating, RULE)
    assert "activations" not in train_finding.message and "creeps" in train_finding.message
    assert "saved activations" in eval_finding.message


@pytest.mark.parametrize("body,expected", [
    # facebookresearch/deit's engine: four terms of one batch's loss, backpropagated by a scaler
    ("    loss = 0.25 * criterion(out[0], y)\n    loss = loss + 0.25 * criterion(out[1], y)\n"
     "    loss = loss + 0.25 * criterion(out[0], out[1].detach())\n    loss_scaler(loss, optimizer)\n", []),
    ("    loss = criterion(out[0], y)\n    loss += criterion(out[1], y)\n    loss_scaler(loss, optimizer)\n", []),
    # a reset under a condition does not happen every iteration: the sum still grows
    ("    if step == 0:\n        total = criterion(out[0], y)\n    total = total + criterion(out[1], y)\n", [8]),
])
def test_a_loss_of_several_terms_built_in_the_iteration(body, expected):
    src = ("import torch.nn as nn\n\ncriterion = nn.CrossEntropyLoss()\n"
           "for step, (x, y) in enumerate(loader):\n    out = model(x)\n" + body)
    assert lines(src, RULE) == expected


def test_a_total_started_before_the_loop_is_still_reported():
    src = ("import torch.nn as nn\n\ncriterion = nn.CrossEntropyLoss()\ntotal = 0\n"
           "for x, y in loader:\n    loss = criterion(model(x), y)\n    total = total + loss\n")
    assert lines(src, RULE) == [7]


LOSS_METHOD = """\
import torch
import torch.nn as nn

class Net(nn.Module):
    def loss(self, batch):
        batch_losses = []
        for episode in ITERABLE:
            loss = nn.MSELoss()(self.fc(batch[episode]), batch[episode])
            batch_losses.append(loss)
        return torch.stack(batch_losses).mean()

def train_step(net, optimizer, batch):
    loss = net.loss(batch)
    loss.backward()
    optimizer.step()
"""


@pytest.mark.parametrize("iterable,expected", [
    ("range(len(batch))", []),         # the examples of one batch: all part of the returned loss
    ("range(batch_size)", []),
    ("range(len(batch.states))", []),
    ("range(batch[0].size(0))", []),
    ("range(len(loader))", [9]),       # every batch of a loader: one graph per batch kept
    ("range(n_batches)", [9]),
    ("range(num_batch)", [9]),
    ("range(0, len(X), batch_size)", [9]),   # batch after batch of X
    ("batch_generator(X, y, 64)", [9]),
    ("train_batches", [9]),
])
def test_a_loss_method_over_one_batch_or_over_the_data(iterable, expected):
    assert lines(LOSS_METHOD.replace("ITERABLE", iterable), RULE) == expected


def test_a_count_of_one_batch_through_a_name():
    src = LOSS_METHOD.replace("        for episode in ITERABLE:\n",
                              "        n = len(batch.states)\n        for episode in range(n):\n")
    assert lines(src, RULE) == []
    over_data = src.replace("n = len(batch.states)", "n_batches = len(loader)").replace("range(n)", "range(n_batches)")
    assert lines(over_data, RULE) == [10]


# Sweep 12 (hysts/pytorch_image_classification): a batch split into chunks, each chunk's loss
# backpropagated at once; the list of chunk losses is new at every optimizer step.
_CHUNKS = """\
import torch


def train(model, optimizer, loss_func, train_loader, subdivision=2):
    for epoch in range(10):
        EPOCH_LIST
        for data, targets in train_loader:
            optimizer.zero_grad()
            BATCH_LIST
            for data_chunk, target_chunk in zip(data.chunk(subdivision), targets.chunk(subdivision)):
                loss = loss_func(model(data_chunk), target_chunk)
                losses.append(loss)
                loss.backward()
            optimizer.step()
        print(sum(losses).item())
"""


@pytest.mark.parametrize("epoch_list,batch_list,expected", [
    ("pass", "losses = []", []),            # one step's chunks
    ("pass", "losses = list()", []),
    ("losses = []", "pass", [12]),          # the whole epoch's losses: a long chain
    ("pass", "pass", [12]),                 # never reset here
])
def test_a_list_of_one_steps_chunk_losses(epoch_list, batch_list, expected):
    src = _CHUNKS.replace("EPOCH_LIST", epoch_list).replace("BATCH_LIST", batch_list)
    assert lines(src, RULE) == expected


# Sweep 16 (MONAI): `.append(loss)` on an object of another class is that class's business
# (`CumulativeAverage.append` detaches); a list, a deque or an unknown receiver keeps graphs.
@pytest.mark.parametrize("made,expected", [
    ("epoch_loss = CumulativeAverage()", []),
    ("epoch_loss = Logger('loss')", []),
    ("epoch_loss = []", [13]),
    ("epoch_loss = list()", [13]),
    ("epoch_loss = deque(maxlen=100)", [13]),
    ("epoch_loss = collections.deque()", [13]),
    ("epoch_loss = make_history()[0] if True else []", [13]),
])
def test_append_to_an_object_that_is_not_a_list(made, expected):
    src = f"""\
import collections
import torch
from collections import deque
from monai.metrics import CumulativeAverage

def train(model, loader, opt, loss_fn):
    {made}
    for x, y in loader:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        epoch_loss.append(loss)
    return epoch_loss
"""
    assert lines(src, RULE) == expected


# A class of this file: its `append` keeps the tensor (and its graph) unless every use of the
# value detaches it (the second review: `.cpu()` is a differentiable copy; `.item()` elsewhere in
# the method does not detach what is stored).
@pytest.mark.parametrize("append_body,expected", [
    ("        self.items.append(value)", [17]),
    ("        self.items.append(value.item())", []),
    ("        self.items.append(float(value))", []),
    ("        self.items.append(value.cpu())", [17]),
    ("        self.best = min(self.best, value.item())\n        self.items.append(value)", [18]),
    ("        self.items.append(value.detach().cpu())", []),
])
def test_append_to_a_class_of_this_file(append_body, expected):
    src = f"""\
import torch


class LossHistory:
    def __init__(self):
        self.items = []

    def append(self, value):
{append_body}


def train(model, loader, opt, loss_fn):
    history = LossHistory()
    for x, y in loader:
        loss = loss_fn(model(x), y)
        loss.backward()
        history.append(loss)
        opt.step()
"""
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("append_def", [
    "    def append(self, value: torch.Tensor):\n        self.items.append(value.item())",
    "    def append(self, value):\n        if isinstance(value, torch.Tensor):\n            value = value.item()\n"
    "        self.items.append(value)",
])
def test_append_that_detaches_a_typed_or_guarded_value(append_def):
    # the third review
    src = (f"import torch\n\n\nclass LossHistory:\n    def __init__(self):\n        self.items = []\n\n{append_def}\n\n\n"
           "def train(model, loader, opt, loss_fn):\n    history = LossHistory()\n    for x, y in loader:\n"
           "        loss = loss_fn(model(x), y)\n        loss.backward()\n        history.append(loss)\n        opt.step()\n")
    assert lines(src, RULE) == []


# Sweep 19 (fixes applied to real code): `.item()` broke a total still used as a tensor.
_TENSOR_LATER = """\
import torch
import torch.nn as nn

criterion = nn.MSELoss()
for epoch in range(2):
    train_loss = 0.0
    losses = []
    for x, y in train_loader:
        batch_loss = criterion(net(x), y)
        optimizer.zero_grad()
        batch_loss.backward()
        optimizer.step()
        {acc}
    {after}
"""


@pytest.mark.parametrize("acc,after,keep", [
    ("train_loss += batch_loss", "train_loss = (train_loss / len(train_loader)).detach().cpu().numpy()", "detach"),
    ("losses.append(batch_loss)", "print(torch.stack(losses).mean())", "detach"),
    ("losses.append(batch_loss)", "print(losses[-1].cpu())", "detach"),
    ("train_loss += batch_loss", "print(train_loss / len(train_loader))", "item"),
    ("losses.append(batch_loss)", "print(sum(losses) / len(losses))", "item"),
])
def test_fix_keeps_a_tensor_where_one_is_needed(acc, after, keep):
    src = _TENSOR_LATER.format(acc=acc, after=after)
    (finding,) = findings(src, RULE)
    fixed = apply_fix(src, finding)
    assert parses(fixed) and f"batch_loss.{keep}()" in fixed
    assert lines(fixed, RULE) == []


def test_a_list_of_losses_is_not_called_a_chained_total():
    src = _TENSOR_LATER.format(acc="losses.append(batch_loss)", after="print(sum(losses))")
    (finding,) = findings(src, RULE)
    assert "in the list" in finding.message and "onto the total" not in finding.message


@pytest.mark.parametrize("after,keep", [
    # a value computed from the total, then used as a tensor (review of sweep 19)
    ("epoch_loss = train_loss / len(train_loader)\n    print(epoch_loss.item())", "detach"),
    ("print(torch.cat([l.view(1) for l in losses]).mean())", None),   # a comprehension: not judged
    ("train_loss, val_loss = 0.0, 0.0\n    print(train_loss)", "item"),  # rebound in a tuple
    ('print("loss %.4f" % (train_loss / len(train_loader),))', "item"),
])
def test_fix_follows_values_computed_from_the_total(after, keep):
    acc = "losses.append(batch_loss)" if "losses" in after else "train_loss += batch_loss"
    src = _TENSOR_LATER.format(acc=acc, after=after)
    (finding,) = findings(src, RULE)
    if keep is None:
        assert finding.fix is None
    else:
        fixed = apply_fix(src, finding)
        assert parses(fixed) and f"batch_loss.{keep}()" in fixed


def test_a_returned_total_follows_its_callers():
    src = """\
import torch.nn as nn

criterion = nn.MSELoss()


def train_epoch(model, loader):
    total_loss = 0.0
    for x, y in loader:
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss
    return total_loss / len(loader)


for epoch in range(10):
    train_loss = train_epoch(model, train_loader)
    {use}
"""
    for use, keep in (('print(f"{train_loss:.4f}")', "item"), ("print(train_loss.item())", "detach")):
        (finding,) = findings(src.format(use=use), RULE)
        assert finding.fix is not None and finding.fix.edits[0].new_text == f"loss.{keep}()"
    (finding,) = findings(src.format(use="").replace("    train_loss = train_epoch(model, train_loader)\n",
                                                      "    log_epoch(train_epoch(model, train_loader))\n"), RULE)
    assert finding.fix is None   # handed to a function of unknown use


# Second review of sweep 19: a global read in a later function, a dict handed back, a list of
# totals stacked, a read above the accumulation in the loop.
@pytest.mark.parametrize("src,keep", [
    ("""\
import torch.nn as nn
criterion = nn.MSELoss()
running_loss = 0.0
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    running_loss += loss


def report():
    print(running_loss.cpu())


report()
""", "detach"),
    ("""\
import torch.nn as nn
criterion = nn.MSELoss()


def train_epoch():
    total = 0.0
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        total += loss
    return {"loss": total}


stats = train_epoch()
print(stats["loss"].item())
""", None),
    ("""\
import torch
import torch.nn as nn
criterion = nn.MSELoss()
history = []
for epoch in range(3):
    running = 0.0
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        running += loss
    history.append(running)
print(torch.stack(history).mean())
""", "detach"),
    ("""\
import torch.nn as nn
criterion = nn.MSELoss()
running = 0.0
for x, y in loader:
    print(running.item())
    loss = criterion(model(x), y)
    loss.backward()
    running += loss
""", "detach"),
])
def test_fix_choice_follows_every_reader(src, keep):
    (finding,) = findings(src, RULE)
    if keep is None:
        assert finding.fix is None
    else:
        assert finding.fix is not None and finding.fix.edits[0].new_text.endswith(f".{keep}()")


# Review of sweep 20: a list made new every pass whose contents are read and carried on.
_CARRIED_ON = [
    ("l2_inner_list_then_outer_append", """import torch
import torch.nn as nn

model = nn.Linear(10, 1)
criterion = nn.MSELoss()
history = []
for x, y in val_loader:
    losses = []
    pred = model(x)
    losses.append(criterion(pred, y))
    history.append(losses)
print(history)
"""),
    ("l4_list_new_but_outer_sum", """import torch
import torch.nn as nn

model = nn.Linear(10, 1)
criterion = nn.MSELoss()
total = 0
for x, y in val_loader:
    losses = []
    pred = model(x)
    losses.append(criterion(pred, y))
    total += losses[0]
print(total)
"""),
    ("l5_stack_mean", """import torch
import torch.nn as nn

model = Net()
epoch_losses = []
for x, (y1, y2) in val_loader:
    out1, out2 = model(x)
    batch_losses = []
    batch_losses.append(nn.functional.cross_entropy(out1, y1))
    batch_losses.append(nn.functional.mse_loss(out2, y2))
    epoch_losses.append(torch.stack(batch_losses).sum())
print(torch.stack(epoch_losses).mean())
"""),
    ("l6_dict_of_lists", """import torch
import torch.nn as nn

model = Net()
log = {"loss": []}
for x, y in val_loader:
    out = model(x)
    losses = []
    losses.append(nn.functional.cross_entropy(out, y))
    log["loss"] += losses
"""),
]


@pytest.mark.parametrize("name,src", _CARRIED_ON, ids=[c[0] for c in _CARRIED_ON])
def test_a_per_pass_list_that_is_read_still_accumulates(name, src):
    assert lines(src, RULE) != []


_TRAIN_THEN_TEST = """\
import torch


def train(model, loader, val_loader):
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(100):
        for data in loader:
            optimizer.zero_grad()
            loss = criterion(model(data.x), data.y)
            loss.backward()
            optimizer.step()
        print(test(model, val_loader))


def test(model, loader):
    criterion = torch.nn.CrossEntropyLoss()
    model.eval()
    loss = 0
    for data in loader:
        loss += criterion(model(data.x), data.y) / len(loader)
    {tail}
"""


def test_a_sum_named_like_another_functions_backpropagated_loss():
    """mlabonne's GIN notebook (sweep 21d): test() sums `loss` tensors without no_grad; the
    `loss` that train() backpropagates is another variable of another function."""
    assert lines(_TRAIN_THEN_TEST.format(tail="return loss"), RULE) == [21]


def test_a_total_backpropagated_in_its_own_function_is_built_on_purpose():
    assert lines(_TRAIN_THEN_TEST.format(tail="loss.backward()"), RULE) == []


_TRAINER_VALIDATION = """\
import torch
import torch.nn as nn


class Trainer:
    def __init__(self, model, loader):
        self.model = model
        self.loader = loader
        self.loss_fn = {loss}

    def validation(self):
        self.model.eval()
        total_loss = 0
        for x, y in self.loader:
            pred = self.model(x)
            total_loss += self.loss_fn(pred, y)
        return total_loss.item()
"""


def test_a_loss_module_held_by_the_object():
    """siuoly's Audio-Classification trainer (sweep 21b): validation() sums `self.loss_fn(...)`
    tensors outside no_grad, keeping every batch's graph until it returns."""
    src = _TRAINER_VALIDATION.format(loss="nn.CrossEntropyLoss()")
    assert lines(src, RULE) == [16]
    assert "total_loss += self.loss_fn(pred, y).detach()" in apply_fix(src, findings(src, RULE)[0])


@pytest.mark.parametrize("loss", ["my_metric", "lambda p, y: (p.argmax(1) == y).float().mean().item()"])
def test_an_attribute_that_is_no_torch_loss(loss):
    assert lines(_TRAINER_VALIDATION.format(loss=loss), RULE) == []


_STEP_HELPER = """\
import torch
import torch.nn as nn

criterion = nn.CrossEntropyLoss()


def train_step(model, optimizer, x, y):
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    {ret}


def fit(model, optimizer, loader, epochs):
    for epoch in range(epochs):
        total_loss = 0
        for x, y in loader:
            batch_loss = train_step(model, optimizer, x, y)
            total_loss += batch_loss
        print(epoch, total_loss / len(loader))
"""


def test_summing_the_loss_a_training_step_helper_returns():
    """Hsankesara's DeepResearch U-Net (sweep 21a): train_step() backpropagates and returns the
    loss tensor; the epoch loop sums those tensors."""
    src = _STEP_HELPER.format(ret="return loss")
    assert lines(src, RULE) == [20]
    assert "chains every iteration's autograd graph" in findings(src, RULE)[0].message
    assert "total_loss += batch_loss.item()" in apply_fix(src, findings(src, RULE)[0])


@pytest.mark.parametrize("ret", ["return loss.item()", "return loss, 0.5", "return float(loss)"])
def test_a_training_step_helper_that_returns_a_number(ret):
    assert lines(_STEP_HELPER.format(ret=ret), RULE) == []


def test_a_loss_functions_sum_stored_in_the_returned_dict():
    """SPADE's pix2pix_model.py in mi2rl/CheSS (sweep 21d): the feature-matching loss is summed
    over the discriminators into `GAN_Feat_loss`, stored in the returned `G_losses` dict, and
    backpropagated by the caller."""
    src = """\
import torch
import torch.nn as nn


class Pix2PixModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.criterionFeat = nn.L1Loss()

    def compute_generator_loss(self, pred_fake, pred_real):
        G_losses = {}
        GAN_Feat_loss = 0
        for i in range(len(pred_fake)):
            for j in range(len(pred_fake[i]) - 1):
                unweighted_loss = self.criterionFeat(pred_fake[i][j], pred_real[i][j].detach())
                GAN_Feat_loss += unweighted_loss / len(pred_fake)
        G_losses["GAN_Feat"] = GAN_Feat_loss
        return G_losses, None
"""
    assert lines(src, RULE) == []
    assert lines(src.replace('        G_losses["GAN_Feat"] = GAN_Feat_loss\n', ""), RULE) == [16]


def test_a_multi_scale_loss_summing_a_loss_helpers_terms():
    """pytorch-semseg's multi_scale_cross_entropy2d (found by the corpus run of this change): a
    loss function of the file summing per-scale terms of another loss function; the caller
    backpropagates the total. Only a training step's returned loss counts as a loss tensor."""
    src = """\
import torch.nn.functional as F


def cross_entropy2d(input, target):
    return F.cross_entropy(input, target, ignore_index=250)


def multi_scale_cross_entropy2d(input, target, scale_weight):
    loss = 0.0
    for i, inp in enumerate(input):
        loss = loss + scale_weight[i] * cross_entropy2d(inp, target)
    return loss
"""
    assert lines(src, RULE) == []


@pytest.mark.parametrize("update", ["update(optimizer, loss)", "agent.optimize(loss)"])
def test_a_total_handed_to_a_helper_that_backpropagates_it(update):
    """Review of the same-variable change: the per-head sum goes to a function of the file that
    runs `loss.backward()` (a parameter of the same or another name)."""
    src = f"""\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()


def update(optimizer, total):
    optimizer.zero_grad()
    total.backward()
    optimizer.step()


class Agent:
    def optimize(self, total):
        total.backward()


for x, ys in loader:
    feats = backbone(x)
    loss = 0
    for head, y in zip(heads, ys):
        loss += criterion(head(feats), y)
    {update}
"""
    assert lines(src, RULE) == []
    assert lines(src.replace(f"    {update}\n", "    print(loss)\n"), RULE) == [21]


_CHUNKED_LOSS = """\
import torch
import torch.nn as nn


class ChunkedLoss(nn.Module):
    def forward(self, pred, target, {loop}):
        losses = []
        start = 0
        for end in {loop}:
            losses.append(nn.functional.mse_loss(pred[:, start:end], target[:, start:end]))
            start = end
        return torch.stack(losses).sum()
"""


@pytest.mark.parametrize("loop, expected", [
    ("delimiters", []),    # one term per chunk of the output: `iter` inside a word is no iterator
    ("train_iter", [10]),  # one term per batch of data
])
def test_a_loss_module_collecting_one_term_per_chunk(loop, expected):
    """Sweep D: a loss module's forward() appends one term per output chunk (bounded by
    `delimiters`) and returns their sum, which the caller backpropagates."""
    assert lines(_CHUNKED_LOSS.format(loop=loop), RULE) == expected


def test_maml_query_losses_summed_per_step_then_backpropagated():
    """Sweep D (MAML's meta-batch): `losses_q[k + 1] += loss_q` over the tasks, then
    `(losses_q[-1] / task_num).backward()` once per call: the list of totals is the loss."""
    src = """\
import torch
import torch.nn.functional as F


def meta_step(net, meta_optim, x_spt, y_spt, x_qry, y_qry, update_step=5, lr=0.01):
    task_num = x_spt.size(0)
    losses_q = [0 for _ in range(update_step + 1)]
    for i in range(task_num):
        fast = list(net.parameters())
        for k in range(update_step):
            grad = torch.autograd.grad(F.cross_entropy(net(x_spt[i], fast), y_spt[i]), fast)
            fast = [w - lr * g for g, w in zip(grad, fast)]
            loss_q = F.cross_entropy(net(x_qry[i], fast), y_qry[i])
            losses_q[k + 1] += loss_q
    loss_q = losses_q[-1] / task_num
    meta_optim.zero_grad()
    loss_q.backward()
    meta_optim.step()
"""
    assert lines(src, RULE) == []


_INNER_LOOP = """\
import torch
import torch.nn.functional as F


def inner_loop(net, params, x, y, steps, lr):
    train_losses = []
    for _ in range(steps):
        loss = F.mse_loss(net(x, params=params), y)
        grads = torch.autograd.grad(loss, params.values(), create_graph={graph})
        train_losses.append(loss)
        params = {{n: p - lr * g for (n, p), g in zip(params.items(), {made_of})}}
    return F.mse_loss(net(x, params=params), y), train_losses
"""


@pytest.mark.parametrize("graph,made_of,expected", [
    # sweep C (higher's tests): the fast weights hold every inner step's graph for the
    # meta-gradient, so keeping the inner losses keeps nothing more
    ("True", "grads", []),
    ("not first_order", "grads", []),         # second order unless asked otherwise
    ("False", "grads", [10]),                 # first order: only the list keeps each graph
    ("True", "[p.grad for p in params.values()]", [10]),   # no fast weights of these gradients
])
def test_inner_losses_of_a_differentiable_maml_loop(graph, made_of, expected):
    assert lines(_INNER_LOOP.format(graph=graph, made_of=made_of), RULE) == expected


@pytest.mark.parametrize("imp,expected", [("import higher\n", []), ("", [11])])
def test_inner_losses_stepped_by_a_differentiable_optimizer(imp, expected):
    """`higher`'s `diffopt.step(loss)` keeps each step's graph in the patched model's weights."""
    src = f"""\
{imp}import torch
import torch.nn.functional as F


def adapt(model, opt, x, y, steps):
    losses = []
    with higher.innerloop_ctx(model, opt) as (fmodel, diffopt):
        for _ in range(steps):
            loss = F.cross_entropy(fmodel(x), y)
            diffopt.step(loss)
            losses.append(loss)
        return fmodel, losses
"""
    assert lines(src, RULE) == expected


def test_a_list_of_epoch_totals_that_is_only_printed():
    src = """\
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
epoch_losses = [0.0] * 10
for epoch in range(10):
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        epoch_losses[epoch] += loss
print(epoch_losses)
"""
    assert lines(src, RULE) == [11]


_PER_TASK_TOTAL = """\
import torch.nn.functional as F


class Meta:
    def al_forward(self, x, y):
        loss = 0.0
        for i in range(x.shape[0]):
            loss += F.cross_entropy(self.net(x[i]), y[i])
        return loss / x.shape[0]

    def train_step(self, x, y):
        {use}
        self.meta_optim.step()
"""


@pytest.mark.parametrize("use, expected", [
    ("loss = self.al_forward(x, y)\n        self.meta_optim.zero_grad()\n        loss.backward()", []),
    ("self.al_forward(x, y).backward()", []),
    ("loss = self.al_forward(x, y)\n        print(loss.item())", [8]),
])
def test_a_per_task_total_a_caller_backpropagates(use, expected):
    """Sweep D: a function of any name returns the per-task sum to a caller of the file that
    backpropagates it: the loss of one meta-batch, built on purpose."""
    assert lines(_PER_TASK_TOTAL.format(use=use), RULE) == expected


_AUTOGRAD_TOTAL = """\
import torch
{imp}
import torch.nn as nn

criterion = nn.CrossEntropyLoss()


def flat_grads(model, dataloader):
    loss, n = 0.0, 0
    for x, y in dataloader:
        loss += criterion(model(x), y) * y.size(0)
        n += y.size(0)
    loss /= n
    {use}
"""


@pytest.mark.parametrize("imp, use, expected", [
    ("", "return torch.autograd.grad(loss, list(model.parameters()), create_graph=True)", []),
    ("from torch import autograd", "return autograd.grad(outputs=loss, inputs=list(model.parameters()))", []),
    ("from torch.autograd import grad", "return grad(loss, list(model.parameters()))", []),
    ("", "print(loss)", [11]),
])
def test_a_total_differentiated_with_autograd_grad(imp, use, expected):
    """Sweep D: `torch.autograd.grad(total, params)` differentiates the total as `.backward()`
    does (a full-data gradient, a MAML inner step): the sum is built on purpose."""
    assert lines(_AUTOGRAD_TOTAL.format(imp=imp, use=use), RULE) == expected


_FULL_BATCH = """\
import torch
import torch.nn as nn

criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
{outer_reset}
for epoch in range(50):
    {zero}
    {inner_reset}
    for b in range(n_batches):
        {zero_in}
        loss = criterion(model(X[b]), Y[b])
        epoch_loss += loss
        loss.backward()
        {step_in}
    print(epoch, epoch_loss.item())
    {step}
"""


@pytest.mark.parametrize("outer_reset, inner_reset, zero, step, zero_in, step_in, expected", [
    # one optimizer step per epoch, the total made new with it: it spans one step
    ("", "epoch_loss = 0", "optimizer.zero_grad()", "optimizer.step()", "pass", "pass", []),
    # made once, before the epoch loop: it spans every step
    ("epoch_loss = 0", "pass", "optimizer.zero_grad()", "optimizer.step()", "pass", "pass", [13]),
    # the step in the batch loop: the epoch's total spans many steps
    ("", "epoch_loss = 0", "pass", "pass", "optimizer.zero_grad()", "optimizer.step()", [13]),
])
def test_full_batch_accumulation_steps_once_per_epoch(outer_reset, inner_reset, zero, step, zero_in,
                                                      step_in, expected):
    """Sweep C (CNN_LSTM_HAR notebooks): backward() per batch, one optimizer step per epoch;
    a total made new in the loop that steps spans that one step."""
    src = _FULL_BATCH.format(outer_reset=outer_reset, inner_reset=inner_reset, zero=zero, step=step,
                             zero_in=zero_in, step_in=step_in)
    assert lines(src, RULE) == expected


_META_PATHS = """\
import torch
import torch.nn.functional as F


class MetaLearner(torch.nn.Module):
    def {name}(self, query_x, query_y):
        loss_s = []
        for mp in self.meta_paths:
            loss = F.mse_loss(self.heads[mp](query_x), query_y)
            loss_s.append(loss)
        {ret}
"""


@pytest.mark.parametrize("name, ret, expected", [
    ("mp_update", "return torch.stack(loss_s).mean(0)", []),
    ("mp_update", "return sum(loss_s) / len(loss_s)", []),
    ("mp_update", "meta = torch.stack(loss_s).mean()\n        return meta", []),
    ("mp_update", "print(loss_s)", [10]),
    ("mp_update", "return [l.item() for l in loss_s]", [10]),
    ("evaluate_paths", "return torch.stack(loss_s).mean()", [10]),
])
def test_a_list_of_losses_returned_as_one_loss(name, ret, expected):
    """Sweep D (MetaHIN): one query loss per meta-path, returned stacked into the meta-loss
    the caller backpropagates: a loss function whatever its name."""
    assert lines(_META_PATHS.format(name=name, ret=ret), RULE) == expected
