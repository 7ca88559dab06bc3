# Distilled from PacktPublishing/Modern-Computer-Vision-with-PyTorch Chapter03/Batch_normalization.ipynb
# cells 6-10 (reported at cell 10 line 21) and cells 17-20 (cell 20 line 21, a true positive).
# The notebook defines get_model() twice, each with a nested class of the SAME name `neuralnet`:
# first without batch norm / dropout (eval() changes nothing -> the first loop is harmless and is
# silent when the second definition is absent), later with BatchNorm1d. The first loop is reported
# as if it used the batch-norm class. Renaming the second nested class makes the FP go away.
import torch
import torch.nn as nn
from torch.optim import Adam


def get_model():
    class neuralnet(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_to_hidden_layer = nn.Linear(784, 1000)
            self.hidden_layer_activation = nn.ReLU()
            self.hidden_to_output_layer = nn.Linear(1000, 10)

        def forward(self, x):
            return self.hidden_to_output_layer(self.hidden_layer_activation(self.input_to_hidden_layer(x)))
    model = neuralnet()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = Adam(model.parameters(), lr=1e-3)
    return model, loss_fn, optimizer


def train_batch(x, y, model, opt, loss_fn):
    batch_loss = loss_fn(model(x), y)
    batch_loss.backward()
    opt.step()
    opt.zero_grad()
    return batch_loss.item()


@torch.no_grad()
def val_loss(x, y, model):
    model.eval()
    return loss_fn(model(x), y).item()


model, loss_fn, optimizer = get_model()
for epoch in range(100):
    for x, y in trn_dl:
        train_batch(x, y, model, optimizer, loss_fn)
    for x, y in val_dl:
        validation_loss = val_loss(x, y, model)   # FP: this model has no BN/dropout


# --- later cell: same helper redefined WITH batch norm
def get_model():
    class neuralnet(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_to_hidden_layer = nn.Linear(784, 1000)
            self.batch_norm = nn.BatchNorm1d(1000)
            self.hidden_to_output_layer = nn.Linear(1000, 10)

        def forward(self, x):
            return self.hidden_to_output_layer(torch.relu(self.batch_norm(self.input_to_hidden_layer(x))))
    model = neuralnet()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = Adam(model.parameters(), lr=1e-3)
    return model, loss_fn, optimizer


model, loss_fn, optimizer = get_model()
for epoch in range(100):
    for x, y in trn_dl:
        train_batch(x, y, model, optimizer, loss_fn)
    for x, y in val_dl:
        validation_loss = val_loss(x, y, model)   # TP: batch-norm model, eval() never undone
