"""The reference gradient averaging: one blocking all-reduce per parameter after backward.

Deliberately simple and slow (no buckets, no overlap, one collective per tensor), kept beside
the bucketed reducer so tests and benchmarks can check it against something obviously right.
"""
from ...autograd import Tensor
from ...backend import get_array_module


class NaiveReducer:
    """Average every parameter's ``.grad`` over ``comm``, one ``allreduce`` per parameter.

    >>> loss.backward()
    >>> NaiveReducer(comm).average_gradients(model.parameters())
    """

    def __init__(self, comm):
        self.comm = comm

    def average_gradients(self, parameters):
        """Replace each ``p.grad`` by its mean over ranks (a missing grad counts as zeros)."""
        for p in parameters:
            if not p.requires_grad:
                continue
            if p.grad is None:
                # Every rank must issue the same collectives, so a parameter this rank did not
                # use still takes part, as zeros.
                p.grad = Tensor(get_array_module(p.array).zeros(p.shape, dtype=p.dtype))
            grad = get_array_module(p.grad.array).ascontiguousarray(p.grad.array)
            self.comm.allreduce(grad)
            grad /= self.comm.size
            p.grad.array = grad
