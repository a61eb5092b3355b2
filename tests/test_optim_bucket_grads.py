"""Optimisers read gradients where they lie: when the gradients are views of shared buffers (as
DDP's buckets make them), each buffer's parameters are updated from the buffer itself, with
the same numbers as from separate gradient arrays, and the gradients are never written."""
import numpy
import pytest

import distgrad
from distgrad import optim

from test_optim import CONFIGS as BASIC
from test_optim_more import CONFIGS as MORE

SHAPES = [(5, 4), (4,), (3, 2, 2), (), (6,)]
CONFIGS = BASIC + MORE
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in o.items()) or 'default'}" for name, o in CONFIGS]
# Two "buckets", launched in reverse registration order, each holding its parameters in
# registration order and a tail of control values after them (as the reducer lays them out).
BUCKETS = [[3, 4], [0, 1, 2]]
TAIL = 3


def problem(steps=6):
    rng = numpy.random.default_rng(1)
    values = [rng.standard_normal(s).astype(numpy.float32) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(numpy.float32) for s in SHAPES] for _ in range(steps)]
    return values, grads


def bucket_views():
    """A buffer per bucket and each parameter's gradient as a view of its bucket."""
    buffers, views = [], [None] * len(SHAPES)
    for members in BUCKETS:
        sizes = [int(numpy.prod(SHAPES[i], dtype=int)) for i in members]
        buffer = numpy.full(sum(sizes) + TAIL, numpy.nan, numpy.float32)
        start = 0
        for i, n in zip(members, sizes):
            views[i] = buffer[start:start + n].reshape(SHAPES[i])
            start += n
        buffers.append(buffer)
    return buffers, views


def run(name, options, values, grads, in_buckets):
    params = [distgrad.tensor(v.copy(), requires_grad=True) for v in values]
    opt = getattr(optim, name)(params, **options)
    buffers, views = bucket_views()
    for step_grads in grads:
        for p, view, g in zip(params, views, step_grads):
            if in_buckets:
                view[...] = g
                p.grad = distgrad.Tensor(view)
            else:
                p.grad = g.copy()
        opt.step()
        for p, g in zip(params, step_grads):
            numpy.testing.assert_array_equal(p.grad.array, g, err_msg="the step wrote into .grad")
    return params, opt, buffers


@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_gradients_in_buckets_give_the_same_steps(name, options):
    values, grads = problem()
    separate, _, _ = run(name, options, values, grads, in_buckets=False)
    bucketed, opt, buffers = run(name, options, values, grads, in_buckets=True)
    for i, (a, b) in enumerate(zip(bucketed, separate)):
        numpy.testing.assert_array_equal(a.array, b.array, err_msg=f"parameter {i}")
    # Read in place: one layout per bucket, and its gradients are the bucket's memory.
    parts = opt._flat[0].parts
    assert len(parts) == len(BUCKETS)
    for part in parts:
        read = part.gradients(part.scratch(0))
        assert any(numpy.shares_memory(read, buffer) for buffer in buffers)
        assert not numpy.shares_memory(read, part.scratch(0))


def test_gradients_of_their_own_stay_in_one_layout_and_are_copied():
    values, grads = problem(steps=2)
    params, opt, _ = run("Adam", {}, values, grads, in_buckets=False)
    (part,) = opt._flat[0].parts
    assert part.gradients(part.scratch(0)) is part.scratch(0)


def test_gradients_that_move_to_other_buffers_get_a_new_layout_and_keep_the_state():
    values, grads = problem(steps=4)
    expected, _, _ = run("Adam", dict(lr=0.01), values, grads, in_buckets=False)
    params = [distgrad.tensor(v.copy(), requires_grad=True) for v in values]
    opt = optim.Adam(params, lr=0.01)
    for step, step_grads in enumerate(grads):
        if step < 2:   # separate arrays first, then buckets (as DDP rebuilds its layout)
            for p, g in zip(params, step_grads):
                p.grad = g.copy()
        else:
            _, views = bucket_views()
            for p, view, g in zip(params, views, step_grads):
                view[...] = g
                p.grad = distgrad.Tensor(view)
        opt.step()
        assert len(opt._flat[0].parts) == (1 if step < 2 else len(BUCKETS))
    for a, b in zip(params, expected):
        numpy.testing.assert_array_equal(a.array, b.array)
