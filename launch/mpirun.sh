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
# Which mpiexec: $MPIEXEC if set, else $VIRTUAL_ENV/bin, else this project's .venv/bin, else
# mpiexec or mpirun on PATH.  When it comes from a virtual environment, that environment's bin/
# goes first on PATH so `python` and `distgrad` in the command match mpi4py's MPI library.
#
# Threads: ranks, not threads, are the unit of parallelism, so unless OMP_NUM_THREADS is set
# each rank gets max(1, cores / ranks per machine) OpenMP/BLAS threads (cores from `nproc`);
# OPENBLAS_NUM_THREADS and MKL_NUM_THREADS follow OMP_NUM_THREADS unless set.
#
# Environment: MPICH/Intel MPI (Hydra) forward the whole environment to every rank.  Open MPI
# forwards only what `-x NAME` lists, so the thread variables, PATH, LD_LIBRARY_PATH,
# PYTHONPATH, VIRTUAL_ENV, CUDA_VISIBLE_DEVICES and every DISTGRAD_* variable that is set are
# listed; Open MPI also gets --oversubscribe when N exceeds this machine's cores (without a
# hostfile) and --allow-run-as-root when run as root.  Inside a Slurm allocation
# without --hostfile the allocation decides placement (prefer srun there: see slurm/README.md).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { printf 'launch/mpirun.sh: %s\n' "$*" >&2; exit 2; }

nranks=""
hostfile=""
gpus=0
verbose=0
dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    -n | -np | --np)
      [ $# -ge 2 ] || die "$1 needs a number of ranks, e.g. -n 4"
      nranks="$2"
      shift 2
      ;;
    --hostfile | -f | --machinefile)
      [ $# -ge 2 ] || die "$1 needs a file, e.g. --hostfile launch/hostfile.example"
      hostfile="$2"
      shift 2
      ;;
    --gpus) gpus=1; shift ;;
    -v | --verbose) verbose=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option '$1' (options go before '--', the command after it; see --help)" ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || die "no command given; usage: launch/mpirun.sh [-n N] [--hostfile FILE] [--gpus] -- command [args...]"
if [ -n "$nranks" ] && ! [[ "$nranks" =~ ^[1-9][0-9]*$ ]]; then
  die "-n $nranks is not a number of ranks >= 1"
fi

# ------------------------------------------------------------ the launcher --
find_mpiexec() {
  local dir name
  if [ -n "${MPIEXEC:-}" ]; then
    command -v "$MPIEXEC" || die "MPIEXEC=$MPIEXEC is not an executable"
    return
  fi
  for dir in "${VIRTUAL_ENV:+$VIRTUAL_ENV/bin}" "$HERE/../.venv/bin"; do
    for name in mpiexec mpirun; do
      if [ -n "$dir" ] && [ -x "$dir/$name" ]; then
        echo "$(cd "$dir" && pwd)/$name"
        return
      fi
    done
  done
  for name in mpiexec mpirun; do
    if command -v "$name"; then return; fi
  done
  die "no mpiexec found in \$VIRTUAL_ENV/bin, $HERE/../.venv/bin or on PATH; install an MPI (pip install mpich, or apt-get install mpich) or set MPIEXEC=/path/to/mpiexec"
}

mpiexec="$(find_mpiexec)"
bindir="$(dirname "$mpiexec")"
if [ -x "$bindir/python" ] && [ -f "$bindir/activate" ]; then
  PATH="$bindir:$PATH"
  export PATH
fi

version="$("$mpiexec" --version 2>&1 || true)"
case "$version" in
  *"Open MPI"* | *OpenRTE* | *open-mpi*) flavour=openmpi ;;
  *HYDRA* | *Hydra* | *"Intel(R) MPI"*) flavour=hydra ;;
  *)
    flavour=hydra
    printf 'launch/mpirun.sh: cannot tell which MPI %s is; passing it only -n\n' "$mpiexec" >&2
    ;;
esac

# ------------------------------------------------------------- hostfile --
# Only counted (for the threads per machine): the file goes to mpiexec as it is.
machines=1
if [ -n "$hostfile" ]; then
  [ -r "$hostfile" ] || die "--hostfile $hostfile cannot be read"
  [ -n "$nranks" ] || die "--hostfile needs -n: how many ranks to start on its machines"
  machines="$(sed 's/#.*//' "$hostfile" | grep -c '[^[:space:]]' || true)"
  [ "$machines" -gt 0 ] || die "$hostfile lists no hosts (one per line, e.g. 'node01:4' for MPICH)"
fi

# Cores of this machine; nproc itself would answer OMP_NUM_THREADS if that were set.
cores="$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 1)"

if [ -z "$nranks" ]; then
  if [[ "${SLURM_NTASKS:-}" =~ ^[1-9][0-9]*$ ]]; then nranks="$SLURM_NTASKS"
  else nranks="$cores"; fi
fi

# --------------------------------------------------------------- threads --
if [ -z "${OMP_NUM_THREADS:-}" ]; then
  per_machine=$(((nranks + machines - 1) / machines))
  threads=$((cores / per_machine))
  OMP_NUM_THREADS=$((threads > 1 ? threads : 1))
fi
export OMP_NUM_THREADS
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-$OMP_NUM_THREADS}"
export MKL_NUM_THREADS="${MKL_NUM_THREADS:-$OMP_NUM_THREADS}"

# ----------------------------------------------------------- the command --
cmd=("$mpiexec" -n "$nranks")

if [ -n "$hostfile" ]; then
  if [ "$flavour" = hydra ]; then cmd+=(-f "$hostfile"); else cmd+=(--hostfile "$hostfile"); fi
fi

if [ "$flavour" = openmpi ]; then
  if [ "$(id -u)" = 0 ]; then
    cmd+=(--allow-run-as-root)
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
  available=""  # with a hostfile or in a Slurm allocation, their slots decide
  if [ -z "$hostfile" ] && [ -z "${SLURM_JOB_ID:-}" ]; then available="$cores"; fi
  if [ -n "$available" ] && [ "$nranks" -gt "$available" ]; then cmd+=(--oversubscribe); fi
  forward=(OMP_NUM_THREADS OPENBLAS_NUM_THREADS MKL_NUM_THREADS PATH LD_LIBRARY_PATH PYTHONPATH
    VIRTUAL_ENV CUDA_VISIBLE_DEVICES)
  while IFS= read -r name; do forward+=("$name"); done < <(compgen -e | grep '^DISTGRAD_' || true)
  for name in "${forward[@]}"; do
    if [ -n "${!name+set}" ]; then cmd+=(-x "$name"); fi
  done
fi

if [ "$gpus" = 1 ]; then cmd+=("$HERE/bind_gpu.sh"); fi
cmd+=("$@")

if [ "$dry_run" = 1 ] || [ "$verbose" = 1 ]; then
  line="$(printf '%q ' "OMP_NUM_THREADS=$OMP_NUM_THREADS" "${cmd[@]}")"
  if [ "$dry_run" = 1 ]; then
    echo "${line% }"
    exit 0
  fi
  echo "+ ${line% }" >&2
fi
exec "${cmd[@]}"
