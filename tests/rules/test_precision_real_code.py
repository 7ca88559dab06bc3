"""Look-alikes taken from real public code (pytorch/examples, handson-ml3) that once raised false
alarms or needed a softer severity."""
from nntutor.engine import analyze_text
from nntutor.findings import Severity


def rules(src):
    return [(f.rule, f.location.line + 1, f.severity) for f in analyze_text(src).findings]


def test_chained_mode_switch_restores_train():
    # fast_neural_style: checkpointing inside the loop switches to eval and back in one chain.
    src = """import torch
from torch.optim import Adam
from transformer_net import TransformerNet

transformer = TransformerNet().to(device)
optimizer = Adam(transformer.parameters(), 1e-3)
for e in range(epochs):
    transformer.train()
    for batch_id, (x, _) in enumerate(loader):
        optimizer.zero_grad()
        loss = transformer(x).mean()
        loss.backward()
        optimizer.step()
        if batch_id % 100 == 0:
            transformer.eval().cpu()
            torch.save(transformer.state_dict(), "ckpt.pth")
            transformer.to(device).train()
"""
    assert [r for r in rules(src) if r[0] == "eval-mode-not-restored"] == []


def test_from_pretrained_models_start_in_eval_mode():
    src = """import torch
from transformers import AutoModelForSequenceClassification
model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased")
with torch.no_grad():
    outputs = model(**token_ids)
"""
    assert rules(src) == []


def test_freshly_built_torchvision_model_is_in_train_mode():
    src = """import torch
import torchvision
model = torchvision.models.resnet18(weights="DEFAULT")
with torch.no_grad():
    outputs = model(images)
"""
    assert [r[0] for r in rules(src)] == ["missing-eval-mode"]


def test_distributed_scripts_may_hard_code_cuda():
    src = """import torch
import torch.distributed.rpc as rpc
model = Net().cuda()
"""
    assert rules(src) == []


def test_scaling_before_cross_validation_is_info_but_selection_is_warning():
    scaled = """from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import cross_val_score
from sklearn.preprocessing import StandardScaler
scaler = StandardScaler()
X_train_scaled = scaler.fit_transform(X_train)
cross_val_score(SGDClassifier(), X_train_scaled, y_train, cv=3)
"""
    assert rules(scaled) == [("leakage-preprocessing", 5, Severity.INFO)]
    selected = """from sklearn.feature_selection import SelectKBest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
X_sel = SelectKBest(k=20).fit_transform(X, y)
cross_val_score(LogisticRegression(), X_sel, y, cv=5)
"""
    assert rules(selected) == [("leakage-preprocessing", 4, Severity.WARNING)]


def test_keras_model_name_rebuilt_later_is_not_mixed_up():
    # deep-learning-with-python (1st ed.): `model` is rebuilt cell after cell with other losses.
    src = """from keras.models import Sequential
from keras import layers
model = Sequential()
model.add(layers.Dense(32, activation="relu"))
model.add(layers.Dense(1, activation="sigmoid"))
model.compile(optimizer="rmsprop", loss="binary_crossentropy")
model = Sequential()
model.add(layers.GRU(32))
model.add(layers.Dense(1))
model.compile(optimizer="rmsprop", loss="mae")
"""
    assert rules(src) == []


def test_availability_check_guards_its_own_function_only():
    src = """import torch

def get_device():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")

def train(model, loader):
    model = model.cuda()
    for x, y in loader:
        x = x.cuda()
"""
    assert [(r[0], r[1]) for r in rules(src)] == [("hardcoded-cuda", 7), ("hardcoded-cuda", 9)]
    guarded_here = src.replace("    model = model.cuda()", "    assert torch.cuda.is_available()\n    model = model.cuda()")
    assert rules(guarded_here) == []
    module_level = "import torch\nuse_cuda = torch.cuda.is_available()\n" + src.split("\n", 1)[1]
    assert rules(module_level) == []
