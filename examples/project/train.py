"""Train the example classifier. Contains bugs nntutor should teach about."""
import torch
import torch.nn as nn
import torch.optim as optim

from data import image_loaders
from models import SmallConvNet

device = torch.device("cuda")  # crashes on a laptop without an NVIDIA GPU

model = SmallConvNet().to(device)
criterion = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=1e-3)
train_loader, test_loader = image_loaders()


def evaluate(net, loader):
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            outputs = net(images)
            correct += (outputs.argmax(1) == labels).sum().item()
            total += labels.size(0)
    return correct / total


for epoch in range(3):
    running_loss = 0.0
    for images, labels in train_loader:
        images, labels = images.to(device), labels.to(device)
        outputs = model(images)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss
    print(f"epoch {epoch}: loss {running_loss / len(train_loader):.3f}")
    print(f"test accuracy: {evaluate(model, test_loader):.2%}")
