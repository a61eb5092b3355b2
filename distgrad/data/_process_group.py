"""The initialised ``distgrad.distributed`` module, if any, without importing it.

Data sits below ``distributed`` in distgrad's layers, so it must never import it (doing so could
also pull in mpi4py and initialise MPI in a plain one-process run). A process group can only have
been initialised by code that already imported ``distgrad.distributed``, so looking the module up
in ``sys.modules`` finds every initialised group and costs nothing otherwise.
"""
import sys


def initialized_process_group():
    """The ``distgrad.distributed`` module when its process group is initialised, else None."""
    dist = sys.modules.get("distgrad.distributed")
    if dist is None or not dist.is_initialized():
        return None
    return dist
