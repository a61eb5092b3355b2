"""Named tuples for operations with several results, as PyTorch's ``torch.return_types``:
``values, indices = x.max(dim)`` and ``x.max(dim).indices`` both work."""
from collections import namedtuple

max = namedtuple("max", ["values", "indices"])
min = namedtuple("min", ["values", "indices"])
sort = namedtuple("sort", ["values", "indices"])
topk = namedtuple("topk", ["values", "indices"])
