"""``distgrad run``: ``torchrun``'s command line on MPI. It starts ``--nnodes x
--nproc-per-node`` ranks of a script with one ``mpiexec``; each rank finds ``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE`` and ``LOCAL_WORLD_SIZE`` set, as under torchrun.

Unlike torchrun, it is run once for the whole job, not once per node: MPI starts the ranks on
every node (listed in ``--hostfile``, or taken from the Slurm/PBS allocation it runs in).
torchrun's rendezvous options (``--node-rank``, ``--master-addr``, ``--master-port``,
``--rdzv-*``, ``--standalone``) are accepted so existing command lines work, and have nothing to
do here. ``--np N`` asks for N ranks in all, placed by MPI, as ``mpiexec -n N`` does:
``launch/mpirun.sh`` is this command with ``--np`` and ``--no-python``. The command line itself
(threads per rank, what Open MPI is told) comes from ``distgrad.distributed.run``; once built,
this process becomes mpiexec, so signals sent to it reach the ranks.
"""
import argparse
import os
import shlex
import sys

from .. import launcher
from ..distributed.run import (LaunchError, cores, default_world_size, exec_command,
                               launch_command)

EPILOG = """examples:
  distgrad run --nproc-per-node 2 train.py --epochs 3
  distgrad run --nproc-per-node 4 -m mypackage.train
  distgrad run --nnodes 2 --nproc-per-node 8 --hostfile hosts train.py   (MPICH: host:slots lines)
  distgrad run --np 10 --hostfile hosts train.py                 (10 ranks as the slots allow)
  salloc -N 2 distgrad run --nnodes 2 --nproc-per-node 4 train.py      (nodes from Slurm)"""


def _count(text):
    """``--nproc-per-node``: a number, or torchrun's ``cpu``/``auto`` (one per core here)."""
    if text in ("cpu", "auto"):
        return cores()
    if text == "gpu":
        from ..backend import cuda_device_count
        return max(1, cuda_device_count())
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _world(text):
    """``--np``: a number, or ``auto`` for the Slurm allocation's tasks, else one per core."""
    return default_world_size() if text == "auto" else _count(text)


def _nodes(text):
    """``--nnodes``: N, or torchrun's elastic ``MIN:MAX`` (MAX nodes are started here)."""
    return _count(text.split(":")[-1])


def add_run_parser(sub, formatter):
    """Add ``distgrad run`` to the subcommands."""
    r = sub.add_parser("run", help="start a script on several ranks, like torchrun",
                       description="Start --nnodes x --nproc-per-node ranks of a script with one "
                       "mpiexec, as torchrun does; each rank finds RANK, LOCAL_RANK, WORLD_SIZE "
                       "and LOCAL_WORLD_SIZE set. Run it once for the whole job.", epilog=EPILOG,
                       formatter_class=formatter)
    r.add_argument("--nproc-per-node", "--nproc_per_node", dest="nproc_per_node", type=_count,
                   help="ranks per node: a number, or 'cpu'/'auto' for one per core [1]")
    r.add_argument("--nnodes", type=_nodes, help="number of nodes (N or MIN:MAX) [1]")
    r.add_argument("--np", type=_world, metavar="N",
                   help="instead of --nnodes x --nproc-per-node: N ranks in all, placed by MPI "
                   "(by the hostfile's slots, the batch allocation, or on this machine), as "
                   "mpiexec -n N; 'auto': $SLURM_NTASKS inside a Slurm allocation, else one "
                   "per core")
    r.add_argument("--hostfile", help="hosts to run on (otherwise the batch allocation's, or "
                   "this machine)")
    r.add_argument("-m", "--module", dest="module", action="store_true",
                   help="run the target as a module (python -m), as torchrun -m")
    r.add_argument("--no-python", "--no_python", dest="no_python", action="store_true",
                   help="run the target as an executable, not with this Python")
    # launch/mpirun.sh stands for plain mpiexec: its ranks start as the command says.
    r.add_argument("--as-is", action="store_true", help=argparse.SUPPRESS)
    r.add_argument("--dry-run", action="store_true", help="print the mpiexec command and exit")
    r.add_argument("--verbose", action="store_true",
                   help="print the mpiexec command to stderr before running it")
    for name in ("--node-rank", "--node_rank", "--master-addr", "--master_addr",
                 "--master-port", "--master_port", "--rdzv-backend", "--rdzv_backend",
                 "--rdzv-endpoint", "--rdzv_endpoint", "--rdzv-id", "--rdzv_id",
                 "--max-restarts", "--max_restarts", "--monitor-interval", "--log-dir"):
        r.add_argument(name, dest="ignored_" + name.strip("-").replace("-", "_"),
                       help=argparse.SUPPRESS)
    r.add_argument("--standalone", action="store_true", help=argparse.SUPPRESS)
    r.add_argument("script", help="the training script (or module with -m)")
    r.add_argument("script_args", nargs=argparse.REMAINDER, help="arguments for the script")


def _layout(args):
    """``(nproc_per_node, nnodes)`` for the command: torchrun's, or ``--np`` ranks on what
    counts as one node to mpiexec (no per-node count is imposed: MPI places them)."""
    if args.np is None:
        return args.nproc_per_node or 1, args.nnodes or 1
    if args.nproc_per_node or args.nnodes:
        raise LaunchError("--np counts all the ranks: give it or --nnodes/--nproc-per-node, "
                          "not both")
    return args.np, 1


def command(args):
    """The argv ``distgrad run`` executes and the environment it runs with."""
    if args.no_python:
        program = [args.script]
    elif args.module:
        program = [sys.executable, "-m", args.script]
    else:
        program = [sys.executable, args.script]
    if not args.as_is:
        # Each rank starts through distgrad/launcher.py, which sets RANK, LOCAL_RANK, WORLD_SIZE
        # and LOCAL_WORLD_SIZE from MPI's variables before the program runs, as torchrun does.
        target = ["--exec", args.script] if args.no_python else program[1:]
        program = [sys.executable, launcher.__file__, *target]
    nproc_per_node, nnodes = _layout(args)
    return launch_command(program + list(args.script_args), nproc_per_node, nnodes=nnodes,
                          hostfile=args.hostfile)


def shown(cmd, env):
    """The command as a shell line, with the threads each rank gets in front."""
    return shlex.join([f"OMP_NUM_THREADS={env['OMP_NUM_THREADS']}", *cmd])


def run(args):
    """Become the mpiexec that starts the ranks (its exit code is the job's); with
    ``--dry-run`` print its command line instead. Returns 2 when it cannot be built."""
    if not (args.module or args.no_python) and not os.path.exists(args.script):
        print(f"distgrad run: error: no such script: {args.script}", file=sys.stderr)
        return 2
    try:
        cmd, env = command(args)
    except LaunchError as exc:
        print(f"distgrad run: error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(shown(cmd, env))
        return 0
    if args.verbose:
        print("+ " + shown(cmd, env), file=sys.stderr)
    try:
        exec_command(cmd, env)
    except OSError as exc:
        print(f"distgrad run: error: cannot start {cmd[0]}: {exc.strerror}", file=sys.stderr)
        return 2
