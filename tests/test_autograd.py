"""The engine: order, accumulation, hooks, memory release, no_grad, custom Functions, deep graphs."""
import gc
import weakref

import numpy
import pytest

import distgrad
from distgrad.autograd import Function, gradcheck, no_grad, queue_callback
from distgrad.autograd.function import ArrayFunction


def leaf(*shape, seed=0):
    return distgrad.tensor(numpy.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def test_chain_of_10000_ops_needs_no_recursion():
    x = distgrad.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    assert x.grad[0] == pytest.approx(1.0001 ** 10_000, rel=1e-3)


def test_gradients_accumulate_across_uses_and_calls():
    x = leaf(3)
    (x * x + x * 3).sum().backward()
    expected = 2 * x.data + 3
    numpy.testing.assert_allclose(x.grad, expected, rtol=1e-6)
    (x * 2).sum().backward()
    numpy.testing.assert_allclose(x.grad, expected + 2, rtol=1e-6)


def test_shared_gradient_arrays_are_not_aliased_between_leaves():
    a, b = leaf(3, seed=1), leaf(3, seed=2)
    (a + b).sum().backward()
    a.grad *= 5  # in-place work on one leaf's grad (clipping does this) must not touch the other
    numpy.testing.assert_array_equal(b.grad, numpy.ones(3, dtype=numpy.float32))
    assert a.grad.array.flags.writeable and b.grad.array.flags.writeable


def test_backward_on_broadcast_sum_gives_writable_grad():
    x = leaf(2, 3)
    x.sum().backward()
    x.grad += 1
    numpy.testing.assert_array_equal(x.grad, 2 * numpy.ones((2, 3)))


def test_nodes_run_in_reverse_creation_order_and_last_leaf_is_final_first():
    w1, w2, w3 = leaf(4, seed=1), leaf(4, seed=2), leaf(4, seed=3)
    order = []
    for name, w in (("w1", w1), ("w2", w2), ("w3", w3)):
        w.register_post_accumulate_grad_hook(lambda t, name=name: order.append(name))
    x = distgrad.tensor(numpy.ones(4, dtype=numpy.float32))
    h = (x * w1).relu()
    h = (h * w2).tanh()
    (h * w3).sum().backward()
    assert order == ["w3", "w2", "w1"]


def test_post_accumulate_hook_fires_once_after_all_contributions():
    w = leaf(3)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.detach().numpy().copy()))
    ((w * 2).sum() + (w * 3).sum() + w.sum()).backward()
    assert len(seen) == 1
    numpy.testing.assert_allclose(seen[0], 6 * numpy.ones(3))


def test_register_hook_replaces_gradient_on_leaf_and_interior():
    x = leaf(3)
    handle = x.register_hook(lambda g: g * 10)
    y = x * 2
    y.register_hook(lambda g: g + 1)
    y.sum().backward()
    numpy.testing.assert_allclose(x.grad, 40 * numpy.ones(3))  # ((1 + 1) * 2) * 10
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    numpy.testing.assert_allclose(x.grad, 2 * numpy.ones(3))


def test_retain_grad_on_interior_tensor():
    x = leaf(3)
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    numpy.testing.assert_allclose(y.grad, 2 * y.data, rtol=1e-6)


def test_queue_callback_runs_after_graph_before_return():
    w = leaf(3)
    events = []
    w.register_post_accumulate_grad_hook(lambda t: (events.append("hook"),
                                                    queue_callback(lambda: events.append("end"))))
    (w * w).sum().backward()
    assert events == ["hook", "end"]
    with pytest.raises(RuntimeError, match="only be called while backward"):
        queue_callback(lambda: None)


def test_saved_arrays_are_released_right_after_node_backward():
    big = numpy.ones(1000, dtype=numpy.float32)

    class Keep(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x.clone())
            return x * 1

        @staticmethod
        def backward(ctx, gy):
            return gy

    x = distgrad.tensor(big, requires_grad=True)
    y = Keep.apply(x)
    node = y.grad_fn
    saved = node.saved_tensors[0]
    ref = weakref.ref(saved) if hasattr(saved, "__weakref__") else None
    del saved
    z = y * 2
    z.sum().backward()
    with pytest.raises(RuntimeError, match="backward already ran"):
        node.saved_tensors
    gc.collect()
    if ref is not None:
        assert ref() is None


def test_second_backward_needs_retain_graph():
    x = leaf(3)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    numpy.testing.assert_allclose(x.grad, 4 * x.data, rtol=1e-6)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_no_grad_records_nothing():
    x = leaf(3)
    with no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert distgrad.is_grad_enabled()

    @no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad


def test_custom_function_pytorch_style_and_gradcheck():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, gy):
            x, = ctx.saved_tensors
            return 3 * x ** 2 * gy

    x = leaf(5)
    assert gradcheck(Cube.apply, (x,))


def test_needs_input_grad_skips_work():
    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, b):
            seen.append(ctx.needs_input_grad)
            return a + b

        @staticmethod
        def backward(ctx, gy):
            return gy, None

    a = leaf(2)
    b = distgrad.tensor([1.0, 2.0])
    Probe.apply(a, b).sum().backward()
    assert seen == [(True, False)]


def test_gradcheck_catches_a_wrong_backward():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, gy):
            return gy  # should be 2 x gy

    assert gradcheck(Wrong.apply, (leaf(3),), raise_exception=False) is False


def test_backward_errors_are_clear():
    with pytest.raises(RuntimeError, match="does not require grad"):
        distgrad.tensor([1.0]).backward()
    x = leaf(3)
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        (x * 2).backward(numpy.ones(2, dtype=numpy.float32))
    with pytest.raises(RuntimeError, match="floating point dtype"):
        distgrad.tensor([1, 2], requires_grad=True)


def test_inplace_on_leaf_requiring_grad_is_refused_outside_no_grad():
    x = leaf(3)
    with pytest.raises(RuntimeError, match="no_grad"):
        x += 1
    with no_grad():
        x += 1


def test_unused_branch_gives_no_gradient():
    a, b = leaf(3, seed=1), leaf(3, seed=2)
    _ = b * 2
    (a * 2).sum().backward()
    assert b.grad is None


def test_gradcheck_on_non_contiguous_input():
    base = numpy.random.default_rng(4).standard_normal((4, 3))
    x = distgrad.Tensor(base.T, requires_grad=True)  # a transposed view, not contiguous
    assert not x.array.flags.c_contiguous
    assert gradcheck(lambda a: (a * a).sum(axis=0), (x,))


def test_custom_function_mistakes_are_reported_clearly():
    class Pair(ArrayFunction):  # distgrad's array-level base has exactly one output
        def forward(self, a):
            return a * 2, a * 3

    with pytest.raises(TypeError, match="Pair.forward returned a tuple; expected one array"):
        Pair.apply(leaf(2))

    class WrongShape(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, gy):
            return gy, gy  # b was broadcast: its gradient must be reduced to (2,)

    a, b = leaf(2, 2), leaf(2, seed=1)
    with pytest.raises(RuntimeError, match=r"invalid gradient for input 1: shape \(2, 2\), expected \(2,\)"):
        WrongShape.apply(a, b).sum().backward()

    class ReturnsTensorAndList(Function):
        @staticmethod
        def forward(ctx, a):
            return distgrad.tensor(a * 2)  # a Tensor is unwrapped

        @staticmethod
        def backward(ctx, gy):
            return [distgrad.tensor(gy * 2)]  # a list of Tensors too

    x = leaf(3)
    ReturnsTensorAndList.apply(x).sum().backward()
    numpy.testing.assert_allclose(x.grad, 2 * numpy.ones(3))


def test_float64_operands_leave_float32_gradients():
    w = distgrad.tensor(numpy.ones(3, dtype=numpy.float32), requires_grad=True)
    (w * numpy.full(3, 2.0)).sum().backward()  # a float64 array promotes the product
    assert w.grad.dtype == numpy.float32
    numpy.testing.assert_allclose(w.grad, 2.0)


def test_gradcheck_accepts_a_lone_tensor_and_warns_on_float32():
    assert gradcheck(lambda a: a.tanh(), leaf(3))
    x32 = distgrad.tensor(numpy.ones(2, dtype=numpy.float32), requires_grad=True)
    with pytest.warns(UserWarning, match="need float64"):
        gradcheck(lambda a: a * 2, (x32,), atol=1e-2, rtol=1e-2)


def test_zero_dimensional_graphs_work():
    x = distgrad.tensor(3.0, requires_grad=True)
    ((x * 2) / 4 - 1).backward()
    assert x.grad.shape == () and x.grad == 0.5
