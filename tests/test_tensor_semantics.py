"""PyTorch's Tensor semantics: Tensor-valued ``.data`` and ``.grad``, ``.array``, devices,
in-place updates, and custom Functions that see Tensors."""
import numpy
import pytest

import distgrad
from distgrad.autograd import Function
from op_check import torch


def test_data_is_a_detached_tensor_sharing_memory():
    p = distgrad.tensor([1.0, 2.0], requires_grad=True)
    d = p.data
    assert isinstance(d, distgrad.Tensor) and not d.requires_grad and d.grad_fn is None
    assert numpy.shares_memory(d.array, p.array)
    d.mul_(3)  # changes p, unrecorded
    assert p.tolist() == [3.0, 6.0]
    p.data = distgrad.tensor([5.0, 5.0, 5.0])  # swapping the data may change the shape
    assert p.shape == (3,) and p.requires_grad


def test_grad_is_a_tensor_that_accumulates_in_place():
    p = distgrad.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    g = p.grad
    assert isinstance(g, distgrad.Tensor) and not g.requires_grad
    (p * 3).sum().backward()
    assert p.grad is g and g.tolist() == [5.0, 7.0]
    p.grad.zero_()
    assert g.tolist() == [0.0, 0.0]
    p.grad = None
    assert p.grad is None


def test_grad_assignment_checks_shape_and_type():
    p = distgrad.tensor([[1.0, 2.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match="different size"):
        p.grad = distgrad.zeros(2)
    with pytest.raises(RuntimeError, match="different type"):
        p.grad = distgrad.zeros(1, 2, dtype=distgrad.float64)
    with pytest.raises(TypeError, match="Tensor or None"):
        p.grad = [[1.0, 2.0]]
    p.grad = distgrad.ones(1, 2)
    assert p.grad.tolist() == [[1.0, 1.0]]


def test_manual_sgd_update_under_no_grad():
    torch_like = []
    for lib in [distgrad] + ([torch] if torch is not None else []):
        w = lib.tensor([1.0, -2.0, 0.5], requires_grad=True)
        for _ in range(3):
            loss = ((w * w).sum() - w.sum())
            loss.backward()
            with lib.no_grad():
                w.data.add_(w.grad, alpha=-0.1)
                w.sub_(w.grad * 0.0)
            w.grad.zero_()
        torch_like.append(numpy.asarray(w.detach().numpy()))
    for other in torch_like[1:]:
        numpy.testing.assert_allclose(torch_like[0], other, rtol=1e-6)


def test_inplace_on_a_leaf_that_requires_grad_needs_no_grad():
    w = distgrad.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1)
    with distgrad.no_grad():
        w.add_(1)
    assert w.tolist() == [2.0]


def test_inplace_family():
    t = distgrad.zeros(2, 3)
    t.fill_(2).mul_(3).sub_(1).div_(5).add_(distgrad.ones(3), alpha=2)
    numpy.testing.assert_allclose(t.detach().numpy(), numpy.full((2, 3), 3.0))
    t.copy_(numpy.arange(3.0))  # broadcast and cast, as PyTorch's copy_
    assert t.dtype == numpy.float32 and t.tolist() == [[0, 1, 2], [0, 1, 2]]
    t.clamp_(min=0.5, max=1.5)
    assert t.tolist() == [[0.5, 1, 1.5], [0.5, 1, 1.5]]
    distgrad.manual_seed(0)
    u = distgrad.zeros(1000).uniform_(-2, 3)
    assert -2 <= float(u.min()) and float(u.max()) < 3
    n = distgrad.zeros(20000).normal_(1.0, 2.0)
    assert abs(float(n.mean()) - 1.0) < 0.1 and abs(float(n.detach().numpy().std()) - 2.0) < 0.1


def test_device_objects():
    d = distgrad.backend.device("cuda", 1)
    assert d == "cuda:1" and d.type == "cuda" and d.index == 1
    assert repr(distgrad.backend.device("cpu")) == "device(type='cpu')"
    assert distgrad.backend.device("cuda:0").index == 0
    x = distgrad.zeros(2)
    assert x.device == "cpu" and x.device.type == "cpu" and x.device.index is None
    assert not x.is_cuda
    with pytest.raises(RuntimeError, match="unknown device type 'tpu'"):
        distgrad.backend.device("tpu")


def test_repr_reads_like_pytorchs():
    assert repr(distgrad.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(distgrad.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert "dtype=distgrad.float64" in repr(distgrad.tensor([1.0], dtype=distgrad.float64))
    assert "grad_fn=<MulBackward>" in repr(distgrad.tensor([1.0], requires_grad=True) * 2)


class MyReLU(Function):
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


def test_custom_function_sees_tensors_and_matches_relu():
    x = distgrad.tensor([-1.5, 0.5, 2.0], requires_grad=True)
    y = MyReLU.apply(x)
    assert y.requires_grad and "MyReLUBackward" in repr(y.grad_fn)
    (y * distgrad.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 3.0]


class ScaleBy(Function):
    """Non-Tensor arguments, needs_input_grad and ctx attributes."""

    @staticmethod
    def forward(ctx, x, w, factor):
        ctx.factor = factor
        ctx.save_for_backward(x, w)
        return x * w * factor

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        assert ctx.needs_input_grad == (False, True, False)
        gx = grad * w * ctx.factor if ctx.needs_input_grad[0] else None
        gw = grad * x * ctx.factor if ctx.needs_input_grad[1] else None
        return gx, gw, None


def test_custom_function_needs_input_grad_and_non_tensor_arguments():
    x = distgrad.tensor([1.0, 2.0])
    w = distgrad.tensor([3.0, 4.0], requires_grad=True)
    ScaleBy.apply(x, w, 2.0).sum().backward()
    assert w.grad.tolist() == [2.0, 4.0] and x.grad is None


class Exp(Function):
    """PyTorch's newer style: forward without ctx, then setup_context."""

    @staticmethod
    def forward(x):
        return x.exp()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx, grad):
        result, = ctx.saved_tensors
        return grad * result


def test_custom_function_with_setup_context_passes_gradcheck():
    x = distgrad.tensor(numpy.array([0.1, -0.4, 1.2]), requires_grad=True)
    assert distgrad.autograd.gradcheck(Exp.apply, (x,))


def test_mark_non_differentiable_output_has_no_grad():
    class Index(Function):
        @staticmethod
        def forward(ctx, x):
            out = x.argmax(dim=0)
            ctx.mark_non_differentiable(out)
            return out

    out = Index.apply(distgrad.tensor([1.0, 3.0], requires_grad=True))
    assert not out.requires_grad and out.item() == 1


def test_tensor_hooks_receive_tensors():
    x = distgrad.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(type(g)) or g * 2)
    (x * 3).sum().backward()
    assert seen == [distgrad.Tensor] and x.grad.tolist() == [6.0, 6.0]


def test_backward_with_create_graph_is_refused_clearly():
    x = distgrad.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="first-order"):
        (x * x).sum().backward(create_graph=True)


def test_autograd_grad_returns_gradients_without_touching_dot_grad():
    x = distgrad.tensor([1.0, 2.0], requires_grad=True)
    w = distgrad.tensor([3.0, -1.0], requires_grad=True)
    h = x * w
    y = (h * h).sum()
    gx, gh = distgrad.autograd.grad(y, [x, h], retain_graph=True)
    assert gx.tolist() == [18.0, 4.0] and gh.tolist() == [6.0, -4.0]
    assert x.grad is None and w.grad is None
    unused = distgrad.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        distgrad.autograd.grad(y, [unused], retain_graph=True)
    assert distgrad.autograd.grad(y, [unused], allow_unused=True, retain_graph=True) == (None,)
    zeros, = distgrad.autograd.grad(y, [unused], materialize_grads=True)
    assert zeros.tolist() == [0.0]
    if torch is not None:
        tx = torch.tensor([1.0, 2.0], requires_grad=True)
        tw = torch.tensor([3.0, -1.0], requires_grad=True)
        tgx, = torch.autograd.grad(((tx * tw) ** 2).sum(), tx)
        assert tgx.tolist() == gx.tolist()


def test_backward_inputs_accumulates_only_there():
    x = distgrad.tensor([1.0, 2.0], requires_grad=True)
    w = distgrad.tensor([3.0, -1.0], requires_grad=True)
    (x * w).sum().backward(inputs=[w])
    assert w.grad.tolist() == [1.0, 2.0] and x.grad is None


class SplitHalves(Function):
    """Two outputs; the second scaled, so each output's gradient must reach its own half."""

    @staticmethod
    def forward(ctx, x):
        n = x.shape[0] // 2
        return x[:n] * 1, x[n:] * 3

    @staticmethod
    def backward(ctx, grad_first, grad_second):
        return distgrad.cat([grad_first, grad_second * 3])


def test_custom_function_with_several_outputs():
    x = distgrad.tensor(numpy.arange(4.0), requires_grad=True)
    first, second = SplitHalves.apply(x)
    assert first.requires_grad and second.requires_grad
    (first.sum() * 2 + (second * distgrad.tensor([1.0, 10.0])).sum()).backward()
    assert x.grad.tolist() == [2.0, 2.0, 3.0, 30.0]
    x.grad = None
    first, _ = SplitHalves.apply(x)  # an unused output contributes zeros
    first.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 0.0, 0.0]
    assert distgrad.autograd.gradcheck(lambda t: SplitHalves.apply(t)[1] * SplitHalves.apply(t)[0],
                                       (distgrad.tensor(numpy.arange(1.0, 5.0),
                                                        requires_grad=True),))


def test_non_differentiable_output_of_several_gets_zeros_in_backward():
    seen = []

    class SortWithIndices(Function):
        @staticmethod
        def forward(ctx, x):
            values, indices = x.sort()
            ctx.mark_non_differentiable(indices)
            ctx.save_for_backward(indices)
            return values, indices

        @staticmethod
        def backward(ctx, grad_values, grad_indices):
            seen.append(grad_indices.tolist())
            indices, = ctx.saved_tensors
            grad = distgrad.zeros_like(grad_values)
            grad[indices] = grad_values
            return grad

    x = distgrad.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, indices = SortWithIndices.apply(x)
    assert values.requires_grad and not indices.requires_grad
    (values * distgrad.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [3.0, 1.0, 2.0] and seen == [[0, 0, 0]]
