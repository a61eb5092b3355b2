#!/usr/bin/env bash
# launch/mpirun.sh -- start an MPI job the same way under MPICH, Intel MPI or Open MPI.
#
# Usage:
#   launch/mpirun.sh [-n N] [--hostfile FILE] [--gpus] [-v] [--dry-run] -- command [args...]
#
#   -n, --np N         ranks to start (default: $SLURM_NTASKS inside a Slurm allocation, else
#                      this machine's cores; required with --hostfile)
#   --hostfile FILE    machines to run on, in the syntax of the MPI that runs (MPICH and Intel
#                      MPI: `host:slots`; Open MPI: `host slots=N`; see launch/hostfile.example),
#                      handed to its mpiexec as it is
#   --gpus             bind each rank to one GPU by its local rank (launch/bind_gpu.sh)
#   -v, --verbose      print the mpiexec command line to stderr before running it
#   --dry-run          print the mpiexec command line to stdout and exit
#   -h, --help         this text
#
# Examples:
#   launch/mpirun.sh -n 2 -- python -m distgrad train --model cnn --dataset mnist
#   launch/mpirun.sh -n 8 --hostfile hosts --gpus -- distgrad train --model cnn --device cuda
#
# It runs this checkout's `distgrad run --np N --as-is --no-python [launch/bind_gpu.sh]
# command...` (as it is: no torchrun variables are set before the command starts): threads
# per rank, Open MPI's options and which mpiexec are decided in distgrad/distributed/run.py.
# The Python: $VIRTUAL_ENV/bin/python, else this project's .venv/bin/python (its bin/ goes first
# on PATH, so `python` in the command is the one mpi4py was installed for), else python3.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { printf 'launch/mpirun.sh: %s\n' "$*" >&2; exit 2; }

nranks="" hostfile="" gpus=""
run=(run)
while [ $# -gt 0 ]; do
  case "$1" in
    -n | -np | --np)
      [ $# -ge 2 ] || die "$1 needs a number of ranks, e.g. -n 4"
      [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "-n $2 is not a number of ranks >= 1"
      nranks="$2"; shift 2 ;;
    --hostfile | -f | --machinefile)
      [ $# -ge 2 ] || die "$1 needs a file, e.g. --hostfile launch/hostfile.example"
      hostfile="$2"; run+=(--hostfile "$2"); shift 2 ;;
    --gpus) gpus="$HERE/bind_gpu.sh"; shift ;;
    -v | --verbose) run+=(--verbose); shift ;;
    --dry-run) run+=(--dry-run); shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option '$1' (options go before '--', the command after it; see --help)" ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || die "no command given; usage: launch/mpirun.sh [-n N] [--hostfile FILE] [--gpus] -- command [args...]"
[ -z "$hostfile" ] || [ -n "$nranks" ] ||
  die "--hostfile needs -n: how many ranks to start on its machines"

python=python3
for bin in ${VIRTUAL_ENV:+"$VIRTUAL_ENV/bin"} "$HERE/../.venv/bin"; do
  if [ -x "$bin/python" ]; then
    bin="$(cd "$bin" && pwd)"; python="$bin/python"; export PATH="$bin:$PATH"; break
  fi
done
# This checkout's distgrad first on the path, whatever the chosen Python has installed.
exec "$python" -c 'import sys; sys.path.insert(0, sys.argv.pop(1)); from distgrad.cli import main
sys.exit(main(sys.argv[1:]))' "$HERE/.." "${run[@]}" --np "${nranks:-auto}" --as-is --no-python \
  ${gpus:+"$gpus"} "$@"
