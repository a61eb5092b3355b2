#!/usr/bin/env bash
# launch/bind_gpu.sh -- give this rank one GPU, chosen by its local rank, then run the command.
#
# Usage: launch/bind_gpu.sh command [args...]     (once per rank, under mpiexec or srun)
#
# The local rank (this rank's index among the ranks on its machine) is read from, in order:
#   MPI_LOCALRANKID             MPICH / Intel MPI (Hydra)
#   OMPI_COMM_WORLD_LOCAL_RANK  Open MPI
#   SLURM_LOCALID               srun
# (the MPI variables come first: under mpiexec inside a Slurm job the ranks also inherit the
# SLURM_LOCALID of the daemon that started them).  Without any of them the local rank is 0.
#
# The GPUs to choose from are those CUDA_VISIBLE_DEVICES already lists (Slurm sets it for jobs
# that asked for GPUs), else DISTGRAD_GPUS_PER_NODE of them, else those `nvidia-smi -L`
# counts.  The rank gets entry (local rank % GPU count), so CUDA_VISIBLE_DEVICES names exactly
# one device and that device is cuda:0 inside the process; distgrad's own choice,
# cuda:<local_rank % device_count>, then agrees.  With no GPU to be found the command runs
# unchanged.
set -euo pipefail

if [ $# -eq 0 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
  [ $# -gt 0 ] && exit 0
  exit 2
fi

local_rank="${MPI_LOCALRANKID:-${OMPI_COMM_WORLD_LOCAL_RANK:-${SLURM_LOCALID:-0}}}"
if ! [[ "$local_rank" =~ ^[0-9]+$ ]]; then
  echo "launch/bind_gpu.sh: local rank '$local_rank' is not a number (from MPI_LOCALRANKID, OMPI_COMM_WORLD_LOCAL_RANK or SLURM_LOCALID)" >&2
  exit 2
fi

gpus=()
if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
  IFS=, read -r -a gpus <<<"$CUDA_VISIBLE_DEVICES"
else
  count="${DISTGRAD_GPUS_PER_NODE:-}"
  if [ -z "$count" ] && command -v nvidia-smi >/dev/null 2>&1; then
    count="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)"
  fi
  if ! [[ "${count:-0}" =~ ^[0-9]+$ ]]; then
    echo "launch/bind_gpu.sh: DISTGRAD_GPUS_PER_NODE=$count is not a number of GPUs" >&2
    exit 2
  fi
  for ((i = 0; i < ${count:-0}; i++)); do gpus+=("$i"); done
fi

if [ "${#gpus[@]}" -gt 0 ]; then
  CUDA_VISIBLE_DEVICES="${gpus[$((local_rank % ${#gpus[@]}))]}"
  export CUDA_VISIBLE_DEVICES
fi
exec "$@"
