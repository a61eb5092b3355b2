"""``distgrad.multiprocessing``: ``spawn(fn, args, nprocs)`` starts ``nprocs`` processes that
form one process group, as ``torch.multiprocessing.spawn`` does, plus Python's own
multiprocessing names that PyTorch's module re-exports (``Process``, ``Queue``, ...).

>>> import distgrad.multiprocessing as mp
>>> mp.spawn(train, args=(world_size,), nprocs=world_size)   # doctest: +SKIP
"""
from multiprocessing import (Array, Event, Lock, Manager, Pool, Process, Queue, Value,
                             cpu_count, get_context, get_start_method, set_start_method)

from .spawn import ProcessContext, ProcessExitedException, ProcessRaisedException, spawn

__all__ = ["spawn", "ProcessContext", "ProcessRaisedException", "ProcessExitedException",
           "Array", "Event", "Lock", "Manager", "Pool", "Process", "Queue", "Value", "cpu_count",
           "get_context", "get_start_method", "set_start_method"]
