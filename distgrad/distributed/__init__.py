"""Data parallelism over MPI: process group, communicators, DistributedDataParallel, timeline.

Conventionally imported as ``dist``; importing it never imports mpi4py (only an ``"mpi"``
process group does), so one-process programs run without any MPI library.
"""
from .abort import install_abort_hooks, uninstall_abort_hooks
from .buckets import compute_bucket_assignment
from .comm_hooks import GradBucket, allreduce_hook, bf16_compress_hook, fp16_compress_hook
from .communicators import (CommunicatorBase, MpiCommunicator, NaiveReducer,
                            NcclCommunicator, SingleCommunicator, StagingCommunicator)
from .communicators.mpi import library_version as mpi_library_version
from .communicators.mpi import thread_level as mpi_thread_level
from .ddp import DDP, DistributedDataParallel
from ..launcher import detect_launcher
from .collectives import (ReduceOp, Work, all_gather, all_gather_into_tensor, all_gather_object,
                          all_reduce, barrier, broadcast, broadcast_object, broadcast_object_list,
                          gather, gather_object, reduce, reduce_scatter, scatter)
from .process_group import (destroy_process_group, get_backend, get_default_group,
                            get_device, get_local_rank, get_local_world_size, get_rank, get_watchdog,
                            get_world_size, init_process_group, is_available, is_initialized)
from .reducer import CommStats
from .timeline import Timeline
from .watchdog import Watchdog
from . import algorithms, comm_hooks

__all__ = [
    "init_process_group", "destroy_process_group", "is_initialized", "get_backend",
    "get_default_group", "get_watchdog", "get_rank", "get_world_size", "get_local_rank",
    "get_local_world_size", "get_device",
    "is_available", "ReduceOp", "Work", "barrier", "all_reduce", "broadcast", "reduce", "all_gather",
    "all_gather_into_tensor", "gather", "scatter", "reduce_scatter", "all_gather_object",
    "broadcast_object", "broadcast_object_list", "gather_object",
    "DistributedDataParallel", "DDP", "CommStats", "algorithms", "comm_hooks", "GradBucket",
    "allreduce_hook", "fp16_compress_hook", "bf16_compress_hook", "CommunicatorBase", "SingleCommunicator", "MpiCommunicator",
    "NcclCommunicator", "StagingCommunicator",
    "NaiveReducer", "Timeline", "Watchdog", "detect_launcher", "compute_bucket_assignment",
    "install_abort_hooks", "uninstall_abort_hooks", "mpi_library_version", "mpi_thread_level",
]
