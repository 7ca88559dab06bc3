import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))
criterion = nn.CrossEntropyLoss()
x = torch.randn(2, 4)
y = torch.tensor([0, 2])
loss = criterion(F.softmax(model(x), dim=1), y)
