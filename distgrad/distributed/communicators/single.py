"""The communicator of a one-process run: every collective is the identity.

It never imports MPI and never copies, so ``python train.py`` pays nothing for being
written as a data-parallel program.
"""
import os
import sys

from .base import CommunicatorBase, CompletedRequest, check_op, check_root


class SingleCommunicator(CommunicatorBase):
    """A communicator of size 1 (rank 0): collectives return their input unchanged."""

    name = "single"

    def allreduce(self, array, op="sum"):
        """Return ``array``: the reduction of one contribution is itself."""
        check_op(op)
        return array

    def iallreduce(self, array, op="sum"):
        """Return a request that is already complete."""
        check_op(op)
        return CompletedRequest()

    def bcast(self, array, root=0):
        """Return ``array``: rank 0 is the only root there is."""
        check_root(root, 1)
        return array

    def barrier(self):
        """Return at once."""

    def allgather_obj(self, obj):
        """Return ``[obj]``."""
        return [obj]

    def bcast_obj(self, obj, root=0):
        """Return ``obj``."""
        check_root(root, 1)
        return obj

    def abort(self, errorcode=1):
        """Exit this (only) process with ``errorcode`` without running cleanup handlers."""
        sys.stderr.flush()
        os._exit(errorcode)
