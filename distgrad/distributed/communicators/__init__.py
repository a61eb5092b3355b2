"""Communicators: who talks to whom, with methods named after MPI calls.

``mpi.py`` imports mpi4py only inside ``load_mpi``, so importing this package never loads MPI.
"""
from .base import CommunicatorBase, CompletedRequest, Request, REDUCE_OPS
from .mpi import MpiCommunicator, load_mpi
from .naive import NaiveReducer
from .progress import ProgressThread, ThreadRequest
from .nccl import NcclCommunicator
from .single import SingleCommunicator
from .staging import (CudaAwareMpiCommunicator, StagingCommunicator, cuda_aware_mpi,
                      mpi_for_gpu)

__all__ = ["CommunicatorBase", "CompletedRequest", "Request", "REDUCE_OPS", "MpiCommunicator",
           "load_mpi", "NaiveReducer", "SingleCommunicator", "NcclCommunicator",
           "StagingCommunicator", "CudaAwareMpiCommunicator", "cuda_aware_mpi", "mpi_for_gpu",
           "ProgressThread", "ThreadRequest"]
