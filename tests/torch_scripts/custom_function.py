"""Custom autograd Functions, in the style of PyTorch's "defining new autograd functions"
tutorial: fit sin(x) with a Legendre polynomial whose P3 is a Function with its own backward,
then train a two-layer net whose ReLU is a Function, updating weights by hand.

Float64 and weights from a seeded NumPy generator: the printed losses can be compared to many
digits across libraries.
"""
import math

import numpy as np
import torch


class LegendrePolynomial3(torch.autograd.Function):
    """P3(x) = (5x^3 - 3x) / 2, with its derivative written out in backward."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


def fit_polynomial(dtype, device):
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)

    a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)

    learning_rate = 5e-6
    for t in range(500):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        if t % 100 == 99:
            print(t, loss.item())
        loss.backward()

        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad

            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    print(f'Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)')


def two_layer_net(dtype, device):
    rng = np.random.default_rng(0)
    N, D_in, H, D_out = 16, 10, 20, 3
    x = torch.tensor(rng.standard_normal((N, D_in)), dtype=dtype, device=device)
    y = torch.tensor(rng.standard_normal((N, D_out)), dtype=dtype, device=device)
    w1 = torch.tensor(rng.standard_normal((D_in, H)) * 0.3, dtype=dtype, device=device,
                      requires_grad=True)
    w2 = torch.tensor(rng.standard_normal((H, D_out)) * 0.3, dtype=dtype, device=device,
                      requires_grad=True)

    learning_rate = 1e-3
    for t in range(50):
        relu = MyReLU.apply
        y_pred = relu(x.mm(w1)).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        if t % 10 == 9:
            print(t, loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    print('grad check:', torch.autograd.gradcheck(MyReLU.apply, (x[:2].clone().requires_grad_(),)))


if __name__ == '__main__':
    dtype = torch.double
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    fit_polynomial(dtype, device)
    two_layer_net(dtype, device)
