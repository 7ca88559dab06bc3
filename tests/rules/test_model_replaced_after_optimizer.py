"""model-replaced-after-optimizer: the optimizer keeps the parameters of a model the name no
longer holds."""
import pytest

from conftest import findings, lines, notebook

from nntutor.content import catalog

RULE = "model-replaced-after-optimizer"

NET = """\
import copy
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 2)

    def forward(self, x):
        return self.fc(x)

"""  # 12 lines: snippets below start at line 13

LOOP = """\
for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
"""

BUGGY = [
    ("rebuilt_with_nn_sequential", NET + """\
model = nn.Sequential(nn.Linear(10, 2))
optimizer = torch.optim.Adam(model.parameters())
model = nn.Sequential(nn.Linear(10, 2), nn.ReLU())
""" + LOOP, [15]),
    # the best checkpoint restored inside the epoch loop: the next epoch steps the old tensors
    ("restored_every_few_epochs", NET + """\
model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(10):
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    if epoch % 3 == 0:
        model = torch.load("best.pt")
""", [21]),
    ("handed_to_a_training_helper", NET + """\
def run(loader):
    model = Net()
    optimizer = torch.optim.Adam(model.parameters())
    model = torch.load("ckpt.pt")
    train(model, optimizer, loader)
""", [16]),
    ("resumed_with_torch_load", NET + """\
model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
if resume:
    model = torch.load("checkpoint.pt")
""" + LOOP, [16]),
    ("rebuilt_and_moved", NET + """\
model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
model = Net().to("cpu")
""" + LOOP, [15]),
    ("deep_copied", NET + """\
model = Net()
optimizer = torch.optim.Adam(model.parameters())
model = copy.deepcopy(pretrained)
""" + LOOP, [15]),
    # GunhoChoi/Kind-PyTorch-Tutorial's autoencoders: both models restored after the optimizer
    ("two_models_restored_through_a_parameter_list", NET + """\
encoder, decoder = Net(), Net()
parameters = list(encoder.parameters()) + list(decoder.parameters())
optimizer = torch.optim.Adam(parameters, lr=1e-3)
try:
    encoder, decoder = torch.load("./model/autoencoder.pkl")
except FileNotFoundError:
    pass
for image, _ in loader:
    optimizer.zero_grad()
    loss = ((decoder(encoder(image)) - image) ** 2).mean()
    loss.backward()
    optimizer.step()
""", [17, 17]),
    ("torchvision_factory", NET + """\
import torchvision
model = torchvision.models.resnet18()
optimizer = torch.optim.Adam(model.parameters())
model = torchvision.models.resnet18(weights="DEFAULT")
""" + LOOP, [16]),
]

CORRECT = [
    # review of session 14: a reload that can never reach the training step
    ("evaluate_branch_returns_first", NET + """\
def main(args, loader, x_test):
    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    if args.evaluate:
        model = torch.load(args.ckpt)
        print(model(x_test))
        return
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
""",),
    ("test_only_branch_and_training_branch", NET + """\
model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
if args.test_only:
    model = torch.load(args.ckpt)
    print(model(x_test))
else:
""" + "".join("    " + line + "\n" for line in LOOP.splitlines()),),
    ("wrapped_with_its_loss", NET + """\
model = Net()
optimizer = torch.optim.Adam(model.parameters())
model = ModelWithLoss(model, criterion)
""" + LOOP,),
    ("moved_to_a_device", NET + """\
model = Net()
optimizer = torch.optim.Adam(model.parameters())
model = model.to("cuda" if torch.cuda.is_available() else "cpu")
""" + LOOP,),
    ("wrapped", NET + """\
model = Net()
optimizer = torch.optim.Adam(model.parameters())
model = nn.DataParallel(model)
model = torch.compile(model)
""" + LOOP,),
    ("weights_loaded_in_place", NET + """\
model = Net()
optimizer = torch.optim.Adam(model.parameters())
model.load_state_dict(torch.load("checkpoint.pt"))
""" + LOOP,),
    ("optimizer_built_again", NET + """\
model = Net()
optimizer = torch.optim.Adam(model.parameters())
model = torch.load("checkpoint.pt")
optimizer = torch.optim.Adam(model.parameters())
""" + LOOP,),
    ("best_model_loaded_after_training", NET + """\
model = Net()
optimizer = torch.optim.Adam(model.parameters())
""" + LOOP + """\
model = torch.load("best.pt")
print(model(x_test))
""",),
    ("a_new_run_per_fold", NET + """\
for fold in range(5):
    model = Net()
    optimizer = torch.optim.Adam(model.parameters())
    for x, y in loaders[fold]:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
""",),
    ("another_name_copied", NET + """\
model = Net()
optimizer = torch.optim.Adam(model.parameters())
ema = copy.deepcopy(model)
""" + LOOP,),
    ("replaced_in_another_function", NET + """\
model = Net()
optimizer = torch.optim.Adam(model.parameters())

def evaluate():
    model = torch.load("best.pt")
    return model(x_test)

""" + LOOP,),
]


@pytest.mark.parametrize("name,src,expected", BUGGY, ids=[b[0] for b in BUGGY])
def test_flags(name, src, expected):
    assert lines(src, RULE) == expected


@pytest.mark.parametrize("name,src", CORRECT, ids=[c[0] for c in CORRECT])
def test_silent(name, src):
    assert lines(src, RULE) == []


def test_message_and_related_locations():
    (f,) = findings(dict((n, s) for n, s, _ in BUGGY)["resumed_with_torch_load"], RULE)
    assert f.severity.label == "error" and f.fix is None
    assert "`optimizer.step()` keeps updating those old tensors" in f.message
    assert [r.location.line + 1 for r in f.related] == [14, 21]   # the optimizer, the step


def test_across_notebook_cells():
    found = notebook([
        NET + "model = Net()\noptimizer = torch.optim.Adam(model.parameters())\n",
        "model = Net()\n",
        LOOP,
    ], RULE)
    assert [(f.location.cell, f.location.cell_line) for f in found] == [(1, 0)]


def test_a_quiz_item_drills_it():
    items = [q for c in catalog().concepts.values() for q in c.quiz if q.rule == RULE]
    assert items and all(q.concept == "training-loop" for q in items)
