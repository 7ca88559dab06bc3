"""Synthetic tabular + image data so the example runs anywhere."""
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset


def image_loaders(n_train=512, n_test=128, batch_size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x_train = torch.randn(n_train, 3, 32, 32, generator=g)
    y_train = torch.randint(0, 10, (n_train,), generator=g)
    x_test = torch.randn(n_test, 3, 32, 32, generator=g)
    y_test = torch.randint(0, 10, (n_test,), generator=g)
    train = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True)
    test = DataLoader(TensorDataset(x_test, y_test), batch_size=batch_size)
    return train, test


def tabular(n=300, d=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y
