"""``embedding`` (rows of a weight matrix picked by integer indices) and ``one_hot``.

The gradient of a lookup scatters back into the rows that were read, adding up where an index
repeats; the ``padding_idx`` row gets none, as in PyTorch.
"""
import numpy

from ..autograd.function import ArrayFunction
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..backend import get_array_module, index_add, to_device, device_of


class Embedding(ArrayFunction):
    def forward(self, weight, indices, padding_idx, scale_grad_by_freq):
        self.indices, self.rows = indices, weight.shape
        self.padding_idx, self.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        return weight[indices]

    def backward(self, gy):
        xp = get_array_module(gy)
        flat = self.indices.reshape(-1)
        values = gy.reshape(len(flat), self.rows[1])
        if self.padding_idx is not None or self.scale_grad_by_freq:
            keep = flat != self.padding_idx if self.padding_idx is not None else 1
            scale = keep
            if self.scale_grad_by_freq:
                # Each row's gradient is divided by how often its index occurs in the batch.
                counts = xp.bincount(flat, minlength=self.rows[0])
                scale = keep / counts[flat]
            values = values * xp.asarray(scale, dtype=gy.dtype).reshape(-1, 1)
        gw = xp.zeros(self.rows, dtype=gy.dtype)
        index_add(gw, flat, values)
        return gw


def _indices(name, input, weight):
    xp = get_array_module(weight.array)
    idx = input.array if isinstance(input, Tensor) else input
    idx = to_device(xp.asarray(idx), device_of(weight.array))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{name} expects integer indices, got dtype {idx.dtype}; convert them "
                        f"with .long()")
    rows = weight.shape[0]
    if idx.size and xp is numpy and (int(idx.min()) < 0 or int(idx.max()) >= rows):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise IndexError(f"{name} got index {bad}, out of range for a weight of {rows} rows "
                         f"(indices must be in [0, {rows - 1}])")
    return idx


def _renorm_(weight, idx, max_norm, norm_type):
    """Rescale, in place and outside the graph, the looked-up rows whose norm exceeds
    ``max_norm`` (PyTorch's ``embedding_renorm_``)."""
    xp = get_array_module(weight.array)
    rows = xp.unique(idx.reshape(-1))
    with no_grad():
        picked = weight.array[rows]
        norms = (xp.abs(picked) ** norm_type).sum(axis=1) ** (1 / norm_type)
        scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1)
        weight.array[rows] = picked * scale.astype(picked.dtype)[:, None]


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num_embeddings, embedding_dim) at the integer indices ``input``:
    the result has shape ``input.shape + (embedding_dim,)``.

    Args:
        padding_idx: a row that receives no gradient.
        max_norm: rows read with a larger ``norm_type``-norm are rescaled in place to it first.
        scale_grad_by_freq: divide each row's gradient by its index's count in ``input``.
        sparse: accepted for PyTorch code; the gradient is always a dense Tensor (an optimiser
            treats it the same way).

    >>> embedding(distgrad.tensor([[0, 2]]), distgrad.randn(3, 4)).shape
    (1, 2, 4)
    """
    if len(weight.shape) != 2:
        raise ValueError(f"embedding expects a weight of shape (num_embeddings, embedding_dim), "
                         f"got shape {tuple(weight.shape)}")
    rows = weight.shape[0]
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise ValueError(f"embedding got padding_idx={padding_idx} for {rows} rows: it must "
                             f"be within num_embeddings")
        padding_idx %= rows
    idx = _indices("embedding", input, weight)
    if max_norm is not None:
        _renorm_(weight, idx, max_norm, float(norm_type))
    return Embedding.apply(weight, indices=idx, padding_idx=padding_idx,
                           scale_grad_by_freq=bool(scale_grad_by_freq))


def one_hot(tensor, num_classes=-1):
    """int64 Tensor of shape ``tensor.shape + (num_classes,)`` with a 1 at each index;
    ``num_classes=-1`` means ``max(tensor) + 1``."""
    idx = tensor.array if isinstance(tensor, Tensor) else tensor
    xp = get_array_module(idx)
    idx = xp.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot is only applicable to index tensors, got dtype {idx.dtype}")
    if num_classes == -1:
        if idx.size == 0:
            raise ValueError("one_hot cannot infer num_classes from an empty tensor: pass it")
        num_classes = int(idx.max()) + 1
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num_classes):
        raise ValueError(f"one_hot got class values in [{int(idx.min())}, {int(idx.max())}] for "
                         f"num_classes={num_classes}: they must be in [0, {num_classes - 1}]")
    out = (idx[..., None] == xp.arange(num_classes)).astype(xp.int64)
    return Tensor._from_op(out, None)
