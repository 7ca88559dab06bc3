"""step-outside-batch-loop: gradients cleared and computed per batch, one optimizer step after the loop."""
import pytest
from conftest import findings, lines, notebook

RULE = "step-outside-batch-loop"
NEIGHBOURS = ("missing-zero-grad", "zero-grad-after-backward", "step-before-backward")

BUGGY = [
    ("epoch_script", """\
import torch

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(epochs):
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
    optimizer.step()
""", [9]),
    ("train_function_called_per_epoch", """\
from tqdm import tqdm

def train_one_epoch(model, loader, optimizer, criterion, device):
    model.train()
    running = 0.0
    for i, (x, y) in enumerate(tqdm(loader)):
        x, y = x.to(device), y.to(device)
        model.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        running += loss.item()
    optimizer.step()
    return running / len(loader)
""", [12]),
    ("while_batch_loop", """\
it = iter(train_loader)
while True:
    try:
        x, y = next(it)
    except StopIteration:
        break
    opt.zero_grad()
    loss_fn(net(x), y).backward()
opt.step()
""", [9]),
    ("trainer_method", """\
import torch

class Trainer:
    def __init__(self, model, train_loader):
        self.model = model
        self.train_loader = train_loader
        self.optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)

    def train_epoch(self):
        self.model.train()
        for batch in self.train_loader:
            self.optimizer.zero_grad()
            out = self.model(batch["input"])
            loss = out.loss
            loss.backward()
        self.optimizer.step()
        self.scheduler.step()
""", [16]),
    ("model_zero_grad_of_the_optimized_model", """\
import torch

opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(10):
    for images, labels in train_loader:
        net.zero_grad()
        loss = F.cross_entropy(net(images), labels)
        loss.backward()
    opt.step()
    print(epoch, loss.item())
""", [9]),
    ("micro_batches_inside_a_batch_loop", """\
for batch in loader:
    for chunk in batch.split(8):
        optimizer.zero_grad()
        loss = model(chunk).loss / 4
        loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
""", [7]),
    ("amp_scaler_step", """\
for epoch in range(num_epochs):
    for x, y in loader:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda"):
            loss = criterion(model(x), y)
        scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
""", [7]),
    ("gem_projection_per_batch", """\
class NET(torch.nn.Module):
    def observe(self, data_loader, loss_criterion, task_i):
        self.net.train()
        for batch_id, (bg, labels) in enumerate(data_loader[task_i]):
            loss = loss_criterion(predict(self.net, bg), labels)
            self.optimizer.zero_grad()
            loss.backward()
            if len(self.observed_tasks) > 1:
                store_grad(self.net.parameters, self.grads, self.grad_dims, task_i)
                project2cone2(self.grads[:, task_i].unsqueeze(1), self.margin)
                overwrite_grad(self.net.parameters, self.grads[:, task_i], self.grad_dims)

        self.optimizer.step()
""", [13]),
    ("conditional_step_after_the_loop", """\
def fit(model, loader, optimizer, epochs, dry_run=False):
    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
        if not dry_run:
            optimizer.step()
""", [8]),
]

SILENT = [
    ("step_inside_the_loop", """\
for epoch in range(epochs):
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    scheduler.step()
"""),
    ("full_batch_accumulation", """\
for epoch in range(epochs):
    optimizer.zero_grad()
    for x, y in loader:
        loss = criterion(model(x), y) / len(loader)
        loss.backward()
    optimizer.step()
"""),
    ("accumulation_done_right", """\
accum = 4
optimizer.zero_grad()
for i, (x, y) in enumerate(loader):
    loss = criterion(model(x), y) / accum
    loss.backward()
    if (i + 1) % accum == 0:
        optimizer.step()
        optimizer.zero_grad()
"""),
    ("final_step_for_leftover_gradients", """\
for epoch in range(epochs):
    for i, (x, y) in enumerate(loader):
        criterion(model(x), y).backward()
        if (i + 1) % accum == 0:
            optimizer.step()
            optimizer.zero_grad()
    optimizer.step()
    optimizer.zero_grad()
"""),
    ("clearing_under_an_if", """\
for epoch in range(epochs):
    for i, (x, y) in enumerate(loader):
        if i % accum == 0:
            optimizer.zero_grad()
        criterion(model(x), y).backward()
    optimizer.step()
"""),
    ("lbfgs_closure_built_in_the_loop", """\
optimizer = torch.optim.LBFGS(model.parameters())
for epoch in range(epochs):
    for x, y in loader:
        def closure():
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            return loss
    optimizer.step(closure)
"""),
    ("loop_breaks_after_one_pass", """\
for epoch in range(epochs):
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        break
    optimizer.step()
"""),
    ("out_of_memory_retry_loop", """\
def train_step(batch, chunk_size):
    while chunk_size != 0:
        try:
            optimizer.zero_grad()
            loss = loss_fn(model(batch))
            loss.backward()
        except RuntimeError:
            chunk_size //= 2
        else:
            break
    optimizer.step()
"""),
    ("loop_over_parameters", """\
for epoch in range(epochs):
    for name, param in model.named_parameters():
        optimizer.zero_grad()
        penalty(param).backward()
    optimizer.step()
"""),
    ("a_model_per_pass", """\
optimizer = torch.optim.Adam([p for m in models for p in m.parameters()])
for epoch in range(epochs):
    for m in models:
        m.zero_grad()
        criterion(m(x), y).backward()
    optimizer.step()
"""),
    ("gan_other_optimizer", """\
for epoch in range(epochs):
    for real in loader:
        opt_d.zero_grad()
        d_loss = bce(D(real), ones) + bce(D(G(z).detach()), zeros)
        d_loss.backward()
    opt_g.step()
"""),
    ("gan_other_model", """\
optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4)
for epoch in range(epochs):
    for real in loader:
        netD.zero_grad()
        errD = criterion(netD(real), label)
        errD.backward()
    optimizerG.step()
"""),
    ("gradients_kept_per_batch", """\
for epoch in range(epochs):
    acc = [torch.zeros_like(p) for p in model.parameters()]
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        for a, p in zip(acc, model.parameters()):
            a += p.grad.clamp(-1, 1)
    for a, p in zip(acc, model.parameters()):
        p.grad = a / len(loader)
    optimizer.step()
"""),
    ("fresh_backward_before_the_step", """\
for x_mem, y_mem in memory:
    model.zero_grad()
    criterion(model(x_mem), y_mem).backward()
    store_grad(model.parameters, grads, dims)
optimizer.zero_grad()
criterion(model(x), y).backward()
optimizer.step()
"""),
    ("optimizer_consumes_gradients_in_the_loop", """\
for mc in range(num_mc_iters):
    optimizer.randomize_weights()
    optimizer.zero_grad()
    loss_fn(model(x), y).backward()
    optimizer.aggregate_grads(batch_size)
optimizer.step()
"""),
    ("step_in_the_other_branch", """\
if args.cached:
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
else:
    loss = criterion(model(x_all), y_all)
    optimizer.step()
"""),
    ("scheduler_after_the_loop", """\
for epoch in range(epochs):
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    lr_scheduler.step()
"""),
]


@pytest.mark.parametrize("name, code, expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_buggy(name, code, expected):
    assert lines(code, RULE) == expected


@pytest.mark.parametrize("name, code", SILENT, ids=[s[0] for s in SILENT])
def test_silent(name, code):
    assert lines(code, RULE) == []


@pytest.mark.parametrize("name, code, expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_no_other_training_loop_rule_reports_it(name, code, expected):
    assert not [f for f in findings(code) if f.rule in NEIGHBOURS]


def test_zero_grad_after_backward_keeps_its_own_case():
    code = """\
for epoch in range(epochs):
    for x, y in loader:
        criterion(model(x), y).backward()
        optimizer.zero_grad()
    optimizer.step()
"""
    assert lines(code, RULE) == []
    assert lines(code, "zero-grad-after-backward") == [4]


def test_message_and_related_locations():
    [f] = findings(BUGGY[0][1], RULE)
    assert f.message.startswith("`optimizer.step()` runs once, after the loop, but `optimizer.zero_grad()`")
    assert "only the last batch's gradient" in f.message and "Step inside the loop" in f.message
    assert [r.location.line + 1 for r in f.related] == [6, 8]
    assert f.related[0].message == "clears the previous batch's gradients"
    assert f.fix is None   # where in the loop the step belongs is not certain
    [g] = findings(BUGGY[6][1], RULE)
    assert g.message.startswith("`scaler.step(optimizer)` runs once, after the loop")


def test_in_a_notebook():
    cells = ["import torch\noptimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n",
             ("for epoch in range(5):\n    for xb, yb in dl:\n        optimizer.zero_grad()\n"
              "        loss_func(model(xb), yb).backward()\n    optimizer.step()\n")]
    [f] = notebook(cells, RULE)
    assert f.location.cell == 1 and f.location.cell_line == 4


def test_commented_out_step_in_the_loop_does_not_silence_it():
    code = BUGGY[0][1].replace("        loss.backward()\n", "        loss.backward()\n        # optimizer.step()\n")
    assert lines(code, RULE) == [10]
