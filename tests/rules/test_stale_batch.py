"""stale-batch: a loop over a loader ignores its batch and feeds a leftover of an earlier loop."""
import pytest

from conftest import findings, lines, notebook

RULE = "stale-batch"

BUGGY = [
    ("cifar_tutorial_test_loop", """\
import torch
from torch.utils.data import DataLoader

trainloader = DataLoader(trainset, batch_size=4, shuffle=True)
testloader = DataLoader(testset, batch_size=4)

for epoch in range(2):
    for i, data in enumerate(trainloader, 0):
        inputs, labels = data
        optimizer.zero_grad()
        loss = criterion(net(inputs), labels)
        loss.backward()
        optimizer.step()

correct = 0
with torch.no_grad():
    for data in testloader:
        outputs = net(inputs)
        correct += (outputs.argmax(1) == labels).sum().item()
""", [17]),
    ("in_one_function_with_device_move", """\
def fit(model, train_loader, val_loader, opt, device):
    for x, y in train_loader:
        opt.zero_grad()
        loss = F.cross_entropy(model(x.to(device)), y.to(device))
        loss.backward()
        opt.step()
    model.eval()
    total = 0.0
    for i, batch in enumerate(val_loader):
        total += F.cross_entropy(model(x.to(device)), y.to(device)).item()
    return total / len(val_loader)
""", [9]),
    ("unpacks_the_training_batch_name", """\
for i, data in enumerate(train_loader):
    images, labels = data
    loss = criterion(model(images), labels)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()

for batch in test_loader:
    images, labels = data
    preds = model(images).argmax(1)
""", [8]),
    ("rebinds_the_leftover_itself_after_eval", """\
for e in range(epochs):
    model.train()
    for ii, (image, label) in enumerate(trainloader):
        image = Variable(image.cuda())
        label = Variable(label.cuda())
        loss = criterion(model.forward(image), label)
        loss.backward()
with torch.no_grad():
    for data in testloader:
        model.eval()
        image = Variable(image.cuda())
        label = Variable(label.cuda())
        _, predicted = torch.max(model(image).data, 1)
        correct += (predicted == label).sum().item()
""", [9]),   # (MikeHatchi/AIP-ND, sweep 21c)
    ("through_tqdm", """\
from tqdm import tqdm

for epoch in range(10):
    for batch in tqdm(train_dl):
        xb, yb = batch
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
    with torch.no_grad():
        for val_batch in tqdm(valid_dl):
            val_loss = loss_fn(model(xb), yb)
""", [11]),
]

CORRECT = [
    ("test_loop_unpacks", """\
for inputs, labels in train_loader:
    loss = criterion(net(inputs), labels)
    loss.backward()
    optimizer.step()
with torch.no_grad():
    for inputs, labels in test_loader:
        outputs = net(inputs)
"""),
    ("batch_read_through_attribute_and_splat", """\
for batch in train_loader:
    out = model(**batch)
    out.loss.backward()
for batch in val_loader:
    out = model(batch.input_ids, attention_mask=batch["attention_mask"])
for b in test_loader:
    preds = model(**b).logits
"""),
    ("underscore_batch_counts_iterations", """\
for x, y in train_loader:
    loss = criterion(model(x), y)
    loss.backward()
for _ in val_loader:
    out = model(x)
for i, _batch in enumerate(val_loader):
    out = model(x)
"""),
    ("gan_generator_step_with_fresh_noise", """\
for real, _ in dataloader:
    d_loss = bce(D(real), ones) + bce(D(G(torch.randn(64, 100)).detach()), zeros)
    d_loss.backward()
    opt_d.step()
for i, data in enumerate(dataloader):
    z = torch.randn(64, 100)
    g_loss = bce(D(G(z)), ones)
    g_loss.backward()
    opt_g.step()
"""),
    ("data_taken_with_next", """\
for x, y in train_loader:
    loss = criterion(model(x), y)
it = iter(unlabeled_loader)
for batch in labeled_loader:
    x, y = next(it)
    loss = criterion(model(x), y)
"""),
    ("only_logged", """\
for x, y in train_loader:
    loss = criterion(model(x), y)
for data in val_loader:
    print(loss.item())
    logger.info(x.shape)
"""),
    ("fixed_tensor_made_outside_any_loop", """\
x_val = torch.randn(16, 3)
for x, y in train_loader:
    loss = criterion(model(x), y)
for i, batch in enumerate(val_loader):
    out = model(x_val)
"""),
    ("rebound_fresh_inside_the_loop", """\
for x, y in train_loader:
    loss = criterion(model(x), y)
for batch in val_loader:
    x = torch.zeros(4, 3)
    out = model(x)
"""),
    ("nested_loaders_outer_batch", """\
for xs in support_loader:
    for ys in query_loader:
        score = model(xs)
        for q in query_loader:
            score = model(q, xs)
"""),
    ("enumerate_index_only_into_fresh_data", """\
for x, y in train_loader:
    loss = criterion(model(x), y)
for i, batch in enumerate(val_loader):
    preds = model(X_val[i])
"""),
    ("not_a_loader", """\
for x, y in train_loader:
    loss = criterion(model(x), y)
for step in range(100):
    out = model(x)
for epoch in epochs:
    out = model(x)
"""),
    ("zip_of_loaders", """\
for x, y in train_loader:
    loss = criterion(model(x), y)
for a, b in zip(val_loader, val_loader2):
    out = model(x)
"""),
    ("different_functions", """\
def train(model, train_loader):
    for x, y in train_loader:
        loss = criterion(model(x), y)

def test(model, test_loader):
    for batch in test_loader:
        out = model(x)
"""),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_names_the_leftover_and_where_it_was_bound():
    (f,) = findings(BUGGY[0][1], RULE)
    assert "`testloader`" in f.message and "`inputs`" in f.message and "loop over `trainloader`" in f.message
    assert f.related and f.related[0].location.line + 1 == 9   # `inputs, labels = data`
    assert f.concept == "epochs-batches-iterations"


def test_across_notebook_cells():
    cells = [
        "for i, data in enumerate(trainloader):\n    inputs, labels = data\n    loss = criterion(net(inputs), labels)\n",
        "with torch.no_grad():\n    for data in testloader:\n        outputs = net(inputs)\n",
    ]
    (f,) = notebook(cells, RULE)
    assert f.location.cell == 1 and f.location.cell_line == 1
    assert f.related[0].location.cell == 0
