"""Save a training checkpoint, stop, and resume from it, as PyTorch's "saving and loading a
general checkpoint" recipe does: the resumed run must print the same losses as the run that
never stopped.

Float64, weights from a seeded NumPy generator and an unshuffled loader, so the numbers also
compare across libraries.
"""
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.bn = nn.BatchNorm1d(16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(x))))


def build():
    model = Net().double()
    rng = np.random.default_rng(7)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.4, 0.4, tuple(p.shape))))
    optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def run_epoch(model, optimizer, loader):
    model.train()
    total = 0.0
    for inputs, labels in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), labels)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(inputs)
    return total / len(loader.dataset)


def main():
    rng = np.random.default_rng(0)
    inputs = torch.from_numpy(rng.standard_normal((60, 6)))
    labels = torch.from_numpy(rng.integers(0, 3, 60))
    loader = DataLoader(TensorDataset(inputs, labels), batch_size=16)
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "checkpoint.tar")

    model, optimizer, scheduler = build()
    for epoch in range(6):
        loss = run_epoch(model, optimizer, loader)
        scheduler.step()
        print(f"epoch {epoch} loss {loss:.12f} lr {scheduler.get_last_lr()[0]:.6f}")
        if epoch == 2:
            torch.save({
                'epoch': epoch,
                'model_state_dict': model.state_dict(),
                'optimizer_state_dict': optimizer.state_dict(),
                'scheduler_state_dict': scheduler.state_dict(),
                'loss': loss,
            }, path)

    model, optimizer, scheduler = build()
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint['model_state_dict'])
    optimizer.load_state_dict(checkpoint['optimizer_state_dict'])
    scheduler.load_state_dict(checkpoint['scheduler_state_dict'])
    start = checkpoint['epoch'] + 1
    print(f"resumed after epoch {checkpoint['epoch']} with loss {checkpoint['loss']:.12f}")
    for epoch in range(start, 6):
        loss = run_epoch(model, optimizer, loader)
        scheduler.step()
        print(f"epoch {epoch} loss {loss:.12f} lr {scheduler.get_last_lr()[0]:.6f}")

    model.eval()
    with torch.no_grad():
        prediction = model(inputs).argmax(dim=1)
    print("train accuracy", (prediction == labels).float().mean().item())
    os.remove(path)
    os.rmdir(folder)


if __name__ == "__main__":
    main()
