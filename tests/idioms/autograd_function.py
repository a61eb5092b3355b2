"""Custom ``torch.autograd.Function``s as the tutorials write them: Tensors in, Tensors out."""
import numpy

from .inputs import V, X
from . import category

idiom = category("autograd.Function")


def _my_relu(torch):
    class MyReLU(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input
    return MyReLU


def _legendre3(torch):
    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)
    return LegendrePolynomial3


@idiom
def relu_function_forward_backward(torch):
    x = torch.tensor(V, requires_grad=True)
    y = _my_relu(torch).apply(x)
    (y * torch.arange(5.0)).sum().backward()
    return y, x.grad


@idiom
def apply_output_has_grad_fn(torch):
    x = torch.tensor(V, requires_grad=True)
    y = _my_relu(torch).apply(x)
    return y.requires_grad, y.grad_fn is not None


@idiom
def legendre_polynomial_fit_step(torch):
    P3 = _legendre3(torch).apply
    x = torch.tensor(numpy.linspace(-1.0, 1.0, 50))
    y = torch.sin(x)
    a = torch.full((), 0.0, dtype=torch.float64, requires_grad=True)
    b = torch.full((), -1.0, dtype=torch.float64, requires_grad=True)
    c = torch.full((), 0.0, dtype=torch.float64, requires_grad=True)
    d = torch.full((), 0.3, dtype=torch.float64, requires_grad=True)
    for _ in range(5):
        loss = (a + b * P3(c + d * x) - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= 1e-3 * p.grad
                p.grad = None
    return loss.item(), a, b, c, d


@idiom
def forward_receives_tensors(torch):
    seen = []

    class Probe(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            seen.append(isinstance(input, torch.Tensor))
            return input * 2

        @staticmethod
        def backward(ctx, grad_output):
            seen.append(isinstance(grad_output, torch.Tensor))
            return grad_output * 2

    x = torch.tensor(V, requires_grad=True)
    Probe.apply(x).sum().backward()
    return seen, x.grad


@idiom
def needs_input_grad(torch):
    flags = []

    class Mul(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad_output):
            a, b = ctx.saved_tensors
            flags.append(tuple(ctx.needs_input_grad))
            grad_a = grad_output * b if ctx.needs_input_grad[0] else None
            grad_b = grad_output * a if ctx.needs_input_grad[1] else None
            return grad_a, grad_b

    a = torch.tensor(V, requires_grad=True)
    b = torch.tensor(V[::-1].copy())
    Mul.apply(a, b).sum().backward()
    return flags, a.grad, b.grad


@idiom
def non_tensor_argument_on_ctx(torch):
    class Scale(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input, factor):
            ctx.factor = factor
            return input * factor

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.factor, None

    x = torch.tensor(V, requires_grad=True)
    y = Scale.apply(x, 3.0)
    y.sum().backward()
    return y, x.grad


@idiom
def mark_non_differentiable(torch):
    class SortWithIndices(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            values, indices = input.sort()
            ctx.mark_non_differentiable(indices)
            ctx.save_for_backward(indices)
            return values, indices

        @staticmethod
        def backward(ctx, grad_values, grad_indices):
            (indices,) = ctx.saved_tensors
            grad = torch.zeros_like(grad_values)
            grad[indices] = grad_values
            return grad

    x = torch.tensor(V, requires_grad=True)
    values, indices = SortWithIndices.apply(x)
    (values * torch.arange(5.0)).sum().backward()
    return values, indices, indices.requires_grad, x.grad


@idiom
def function_in_a_module(torch, nn):
    relu = _my_relu(torch)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.tensor(numpy.eye(5, dtype=numpy.float32)))

        def forward(self, x):
            return relu.apply(x @ self.w)

    net = Net()
    net(torch.tensor(X)).sum().backward()
    return net.w.grad


@idiom
def gradcheck_custom_function(torch):
    x = torch.tensor(V.astype(numpy.float64), requires_grad=True)
    return torch.autograd.gradcheck(_legendre3(torch).apply, (x,), eps=1e-6, atol=1e-4)
