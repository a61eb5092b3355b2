"""Classify Fashion-MNIST-shaped images with an MLP, in the style of PyTorch's quickstart.

With DISTGRAD_DATA pointing at a folder that holds fashion-mnist/, the first images of the real
data set are used; otherwise seeded random images labelled by a fixed teacher. Initial weights
come from a seeded NumPy generator and the training loader does not shuffle, so the numbers
printed can be compared across libraries.
"""
import os
import tempfile

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Subset, TensorDataset


def load_data():
    root = os.environ.get("DISTGRAD_DATA")
    if root and os.path.isdir(os.path.join(root, "fashion-mnist")):
        from torchvision import datasets
        from torchvision.transforms import ToTensor
        training_data = datasets.FashionMNIST(root=root, train=True, download=True,
                                              transform=ToTensor())
        test_data = datasets.FashionMNIST(root=root, train=False, download=True,
                                          transform=ToTensor())
        return Subset(training_data, range(512)), Subset(test_data, range(256))
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (768, 1, 28, 28)).astype(np.float32)
    teacher = np.random.default_rng(1).standard_normal((28 * 28, 10)).astype(np.float32)
    labels = ((images.reshape(768, -1) - 0.5) @ teacher).argmax(axis=1)
    data = TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
    return Subset(data, range(512)), Subset(data, range(512, 768))


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 128),
            nn.ReLU(),
            nn.Linear(128, 128),
            nn.ReLU(),
            nn.Linear(128, 10)
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


def train(dataloader, model, loss_fn, optimizer, device):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)

        pred = model(X)
        loss = loss_fn(pred, y)

        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

        if batch % 4 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>9f}  [{current:>5d}/{size:>5d}]")


def test(dataloader, model, loss_fn, device):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")


def main():
    accelerator = torch.accelerator.current_accelerator()
    device = accelerator.type if torch.accelerator.is_available() else "cpu"
    print(f"Using {device} device")

    training_data, test_data = load_data()
    batch_size = 64
    train_dataloader = DataLoader(training_data, batch_size=batch_size)
    test_dataloader = DataLoader(test_data, batch_size=batch_size)
    for X, y in test_dataloader:
        print(f"Shape of X [N, C, H, W]: {X.shape}")
        print(f"Shape of y: {y.shape} {y.dtype}")
        break

    model = NeuralNetwork().to(device)
    rng = np.random.default_rng(2)
    with torch.no_grad():
        for name, p in model.named_parameters():
            bound = 1 / np.sqrt(p.shape[-1])
            p.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(p.shape)).astype(np.float32)))

    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)

    epochs = 3
    for t in range(epochs):
        print(f"Epoch {t+1}\n-------------------------------")
        train(train_dataloader, model, loss_fn, optimizer, device)
        test(test_dataloader, model, loss_fn, device)
    print("Done!")

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.pth")
        torch.save(model.state_dict(), path)
        model = NeuralNetwork().to(device)
        model.load_state_dict(torch.load(path, weights_only=True))

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    model.eval()
    x, y = test_data[0][0], test_data[0][1]
    with torch.no_grad():
        x = x.to(device)
        pred = model(x)
        predicted, actual = classes[pred[0].argmax(0)], classes[y]
        print(f'Predicted: "{predicted}", Actual: "{actual}"')


if __name__ == "__main__":
    main()
