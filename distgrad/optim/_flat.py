"""Optimiser state kept in one flat array per kind (``exp_avg``, ``momentum_buffer`` ...) for all
parameters of a param group that share device and dtype, so an update is a handful of vectorised
passes over one array instead of a handful per parameter.

Users still see PyTorch's per-parameter state: ``state[p]["exp_avg"]`` is a view of ``p``'s slice
of the flat array, so both always agree and nothing is copied.

Gradients are read where they lie when they lie back to back in one buffer, as they do in a
DDP bucket (``gradient_as_bucket_view``): each bucket's parameters form a layout of their own,
ordered as in the bucket, and the update reads the bucket itself instead of a copy of it.
Updates therefore never write into the gradient array they are given.
"""
import collections
import operator

import numpy

from .. import backend

_NO_STATE = {}


def _address(array):
    """Address of the first element (NumPy or CuPy)."""
    if isinstance(array, numpy.ndarray):
        return array.__array_interface__["data"][0]
    return array.data.ptr


def _flat_view(arrays):
    """A 1-D array whose consecutive slices are ``arrays`` (C-contiguous, same dtype, in order),
    or None when they do not lie back to back in one buffer."""
    root = arrays[0]
    while isinstance(root.base, type(root)):
        root = root.base
    if not root.flags.c_contiguous or root.dtype != arrays[0].dtype:
        return None
    whole = root.reshape(-1)
    itemsize = whole.dtype.itemsize
    start, rest = divmod(_address(arrays[0]) - _address(whole), itemsize)
    if rest or start < 0:
        return None
    end = start
    for a in arrays:
        # An address inside root's live allocation can only belong to a view of that memory.
        if a.dtype != whole.dtype or not a.flags.c_contiguous or \
                _address(a) != _address(whole) + end * itemsize:
            return None
        end += a.size
    return whole[start:end] if end <= whole.size else None


class FlatLayout:
    """Parameters of one group that share device and dtype, their state kinds laid out back to
    back, and scratch arrays of the same length for the update's temporaries.

    Args:
        params: the parameters (Tensors), in group order.
        state: the optimiser's ``state`` dict; existing arrays are copied in, missing ones start
            at zero, and every ``state[p][kind]`` becomes a view of the flat array.
        kinds: names of the per-parameter array states.
        shared_grads: the gradients are views of one buffer, in ``params``' order (a DDP
            bucket): read them there while they stay put.
    """

    def __init__(self, params, state, kinds, shared_grads=False):
        self.params = params
        self.datas = [p.array for p in params]
        self.xp = backend.get_array_module(params[0])
        self.shapes = [a.shape for a in self.datas]
        self.bounds = []
        end = 0
        for a in self.datas:
            self.bounds.append((end, end + a.size))
            end += a.size
        self.numel = end
        dtype, device = self.datas[0].dtype, params[0].device
        # A parameter with no state at all is new: SGD starts its momentum from the gradient.
        self.fresh = [len(state.get(p, _NO_STATE)) == 0 for p in params]
        self.buffers, self.views = {}, {}
        for kind in kinds:
            flat = self._zeros(dtype)
            views = [flat[lo:hi].reshape(shape)
                     for (lo, hi), shape in zip(self.bounds, self.shapes)]
            for p, view in zip(params, views):
                old = state.get(p, _NO_STATE).get(kind)
                if old is not None:
                    view[...] = backend.to_device(old, device).reshape(view.shape)
                state[p][kind] = view
            self.buffers[kind], self.views[kind] = flat, views
        self._scratch = []
        self.param_flat = _flat_view(self.datas)
        self.shared_grads = shared_grads
        self._grads, self._grad_flat = None, None   # the arrays last seen, and their flat view

    def _zeros(self, dtype):
        if self.xp is numpy:
            return numpy.zeros(self.numel, dtype)
        with self.xp.cuda.Device(self.datas[0].device.id):
            return self.xp.zeros(self.numel, dtype)

    def intact(self, state):
        """True while the parameters' arrays and the state views are the ones laid out here
        (a load_state_dict, a user's assignment or a ``.to()`` replaces them)."""
        for i, p in enumerate(self.params):
            if p.array is not self.datas[i]:
                return False
            entry = state.get(p, _NO_STATE)
            for kind, views in self.views.items():
                if entry.get(kind) is not views[i]:
                    return False
        return True

    def take_fresh(self):
        """Which parameters had no state before this step (then marks all as seen)."""
        fresh, self.fresh = self.fresh, [False] * len(self.params)
        return fresh

    def scratch(self, index):
        """Scratch flat array number ``index`` (allocated once, reused every step)."""
        while len(self._scratch) <= index:
            self._scratch.append(self._zeros(self.datas[0].dtype))
        return self._scratch[index]

    def segments(self, flat):
        """Each parameter's 1-D slice of ``flat``."""
        return [flat[lo:hi] for lo, hi in self.bounds]

    def runs(self, keys):
        """``(key, slice)`` for each run of consecutive parameters whose ``keys`` (one per
        parameter, e.g. its step count) are equal: one run over everything in the usual case,
        so per-parameter scalars cost a pass per distinct value, not per parameter."""
        runs = []
        for key, (lo, hi) in zip(keys, self.bounds):
            if runs and runs[-1][0] == key:
                runs[-1] = (key, slice(runs[-1][1].start, hi))
            else:
                runs.append((key, slice(lo, hi)))
        return runs

    def gradients(self, out):
        """Every parameter's gradient as one flat array, to be read only: the buffer they
        already share when they lie back to back in this layout's order (a DDP bucket), else
        a copy in ``out``."""
        grads = [p.grad.array for p in self.params]
        # Only shared gradients are remembered: arrays seen before were checked before.
        if self._grads is None or not all(map(operator.is_, grads, self._grads)):
            for g, shape in zip(grads, self.shapes):
                if g.shape != shape:
                    raise RuntimeError(f"parameter of shape {shape} has a gradient of shape "
                                       f"{g.shape}; a gradient must have its parameter's shape")
            if self.shared_grads:
                self._grads, self._grad_flat = grads, _flat_view(grads)
        if self._grad_flat is not None:
            return self._grad_flat
        return self.xp.concatenate([g.reshape(-1) for g in grads], out=out)

    def param_values(self, out):
        """The parameters as one flat array: their own buffer when they lie back to back,
        else a copy in ``out``."""
        if self.param_flat is not None:
            return self.param_flat
        return self.xp.concatenate([a.reshape(-1) for a in self.datas], out=out)

    def scale_params(self, factor):
        """``p *= factor`` for every parameter, in place."""
        if self.param_flat is not None:
            self.xp.multiply(self.param_flat, factor, out=self.param_flat)
            return
        for a in self.datas:
            self.xp.multiply(a, factor, out=a)

    def add_to_params(self, update):
        """``p += update[p's slice]`` for every parameter, in place (never rebinding ``p.array``:
        other components hold views of it)."""
        if self.param_flat is not None:
            self.xp.add(self.param_flat, update, out=self.param_flat)
            return
        for a, (lo, hi) in zip(self.datas, self.bounds):
            self.xp.add(a, update[lo:hi].reshape(a.shape), out=a)


def _root(array):
    while isinstance(array.base, type(array)):
        array = array.base
    return array


def gradient_buffers(params):
    """For each parameter, the id of the buffer its gradient shares with another parameter's
    gradient (a DDP bucket), or None when it shares none; None when no gradient is a view."""
    grads = [p.grad.array for p in params]
    if all(g.base is None for g in grads):   # backward's own arrays: the common case, cheaply
        return None
    roots = [id(_root(g)) for g in grads]
    shared = {r for r, n in collections.Counter(roots).items() if n > 1}
    return tuple(r if r in shared else None for r in roots)


class FlatGroup:
    """The flat layouts of one param group, among the parameters that have a gradient this
    step: one ``FlatLayout`` per (device, dtype, shared gradient buffer), the parameters of a
    shared buffer ordered as they lie in it."""

    def __init__(self, params, state, kinds):
        self.params, self.kinds = params, kinds
        self.buffers = gradient_buffers(params)
        by_kind = {}
        for p, buffer in zip(params, self.buffers or [None] * len(params)):
            by_kind.setdefault((p.device, p.array.dtype, buffer), []).append(p)
        self.parts = []
        for (_, _, buffer), ps in by_kind.items():
            if buffer is not None:
                ps = sorted(ps, key=lambda p: _address(p.grad.array))
            self.parts.append(FlatLayout(ps, state, kinds, shared_grads=buffer is not None))

    def matches(self, params, state, kinds):
        """True when this layout still serves ``params`` with state ``kinds`` and gradients
        in the same buffers."""
        if kinds != self.kinds or len(params) != len(self.params):
            return False
        for p, q in zip(params, self.params):
            if p is not q:
                return False
        return gradient_buffers(params) == self.buffers and \
            all(part.intact(state) for part in self.parts)
