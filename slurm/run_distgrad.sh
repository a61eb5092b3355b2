#!/usr/bin/env bash
# slurm/run_distgrad.sh -- the body every slurm/*.sbatch template runs inside its allocation.
#
# Not submitted by itself: a template sets the variables below, then runs this file.  It
# activates the virtual environment, prints where the job runs, checks MPI with
# `distgrad info` on every rank, then runs `distgrad train` on every rank.
#
# Time limits and preemption: the templates ask Slurm for SIGUSR1 shortly before the time
# limit (#SBATCH --signal=B:USR1@<s>, to this shell only).  This shell passes SIGUSR1 and
# SIGTERM on to the launcher, which hands them to every rank; the ranks finish their step,
# write a checkpoint and exit 75.  The job then requeues itself (scontrol requeue; same job id,
# so the same DISTGRAD_RUN_DIR) and continues from that checkpoint with --resume.
#
#   DISTGRAD_HOME        the repository (holds launch/ and slurm/)                 [required]
#   DISTGRAD_MODEL       mlp | cnn                                                      [cnn]
#   DISTGRAD_DATASET     mnist | fashion-mnist | synthetic                            [mnist]
#   DISTGRAD_EPOCHS      epochs                                      [the model's recipe]
#   DISTGRAD_BATCH_SIZE  samples per rank per step                   [the model's recipe]
#   DISTGRAD_ARGS        more `distgrad train` flags, split on blanks ("--lr 0.01 --optimizer sgd")
#   DISTGRAD_DATA        folder holding mnist/ and fashion-mnist/ (IDX files), seen by all nodes
#                        [$HOME/.cache/distgrad]
#   DISTGRAD_VENV        virtual environment with distgrad and mpi4py   [$DISTGRAD_HOME/.venv]
#                        (empty: the python3 already on PATH, e.g. after `module load`)
#   DISTGRAD_RUN_DIR     metrics.jsonl and checkpoints/ of this job; empty = neither
#                        [$DISTGRAD_HOME/runs/<job name>-<job id>]; a requeued job resumes there
#   DISTGRAD_DEVICE      auto | cpu | cuda                                             [auto]
#   DISTGRAD_LAUNCHER    mpiexec | srun (see slurm/README.md)                       [mpiexec]
#   DISTGRAD_SRUN_MPI    srun --mpi=: pmi2 for MPICH and Intel MPI, pmix for Open MPI  [pmi2]
#   DISTGRAD_MAX_REQUEUES  how many times a stopped run requeues itself; 0 = never        [20]
set -euo pipefail

die() { printf 'run_distgrad.sh: %s\n' "$*" >&2; exit 2; }

: "${DISTGRAD_HOME:?is not set: the template sets it to the repository (submit from there)}"
DISTGRAD_MODEL="${DISTGRAD_MODEL:-cnn}"
: "${SLURM_JOB_ID:?is not set: run this inside a Slurm allocation (sbatch slurm/mnist.sbatch)}"
DISTGRAD_DATASET="${DISTGRAD_DATASET:-mnist}"
DISTGRAD_EPOCHS="${DISTGRAD_EPOCHS:-}"
DISTGRAD_BATCH_SIZE="${DISTGRAD_BATCH_SIZE:-}"
DISTGRAD_ARGS="${DISTGRAD_ARGS:-}"
DISTGRAD_DATA="${DISTGRAD_DATA:-$HOME/.cache/distgrad}"
DISTGRAD_VENV="${DISTGRAD_VENV-$DISTGRAD_HOME/.venv}"
DISTGRAD_RUN_DIR="${DISTGRAD_RUN_DIR-$DISTGRAD_HOME/runs/${SLURM_JOB_NAME:-job}-$SLURM_JOB_ID}"
DISTGRAD_DEVICE="${DISTGRAD_DEVICE:-auto}"
DISTGRAD_LAUNCHER="${DISTGRAD_LAUNCHER:-mpiexec}"
DISTGRAD_SRUN_MPI="${DISTGRAD_SRUN_MPI:-pmi2}"
DISTGRAD_MAX_REQUEUES="${DISTGRAD_MAX_REQUEUES:-20}"
EXIT_PREEMPTED=75  # distgrad train: stopped by a signal after writing a checkpoint

[ -f "$DISTGRAD_HOME/slurm/run_distgrad.sh" ] ||
  die "DISTGRAD_HOME=$DISTGRAD_HOME is not the distgrad repository (no slurm/run_distgrad.sh there)"

# Activate the environment by hand: `source activate` is not written for `set -u`.
if [ -n "$DISTGRAD_VENV" ]; then
  [ -x "$DISTGRAD_VENV/bin/python" ] ||
    die "DISTGRAD_VENV=$DISTGRAD_VENV has no bin/python; create it (make venv) or set DISTGRAD_VENV"
  export VIRTUAL_ENV="$DISTGRAD_VENV"
  export PATH="$DISTGRAD_VENV/bin:$PATH"
  python="$DISTGRAD_VENV/bin/python"
else
  python="$(command -v python3)" || die "DISTGRAD_VENV is empty and there is no python3 on PATH"
fi

# One OpenMP/BLAS thread per allocated CPU of each rank.
export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"
export OPENBLAS_NUM_THREADS="$OMP_NUM_THREADS" MKL_NUM_THREADS="$OMP_NUM_THREADS"
if [ -n "${DISTGRAD_DATA:-}" ]; then export DISTGRAD_DATA; fi

# Each rank binds its GPU by local rank when the job was given GPUs.  (Arrays that may be
# empty are expanded as ${a[@]+"${a[@]}"}: bash before 4.4 calls them unbound under set -u.)
bind=()
if [ "$DISTGRAD_DEVICE" != cpu ] && [ -n "${SLURM_JOB_GPUS:-}${CUDA_VISIBLE_DEVICES:-}" ]; then
  bind=("$DISTGRAD_HOME/launch/bind_gpu.sh")
fi

# mpiexec (MPICH's Hydra, Open MPI's mpirun) reads the allocation from Slurm and starts its
# daemons through srun; srun can start the ranks itself only if the MPI speaks srun's PMI.
case "$DISTGRAD_LAUNCHER" in
  mpiexec) launch=("$DISTGRAD_HOME/launch/mpirun.sh" -n "$SLURM_NTASKS" --) ;;
  srun) launch=(srun --mpi="$DISTGRAD_SRUN_MPI" --kill-on-bad-exit=1) ;;
  *) die "DISTGRAD_LAUNCHER=$DISTGRAD_LAUNCHER: use mpiexec or srun" ;;
esac

train=(-m distgrad train --model "$DISTGRAD_MODEL" --dataset "$DISTGRAD_DATASET"
  --device "$DISTGRAD_DEVICE" --no-progress)
# Unset: the model's recipe in `distgrad train` decides (one place for the defaults).
if [ -n "$DISTGRAD_EPOCHS" ]; then train+=(--epochs "$DISTGRAD_EPOCHS"); fi
if [ -n "$DISTGRAD_BATCH_SIZE" ]; then train+=(--batch-size "$DISTGRAD_BATCH_SIZE"); fi
if [ -n "$DISTGRAD_RUN_DIR" ]; then
  mkdir -p "$DISTGRAD_RUN_DIR/checkpoints"
  # --resume starts from scratch when there is no checkpoint yet, and picks up the newest one
  # when Slurm requeues this job (same job id, same directory).
  train+=(--checkpoint-dir "$DISTGRAD_RUN_DIR/checkpoints" --resume
    --metrics "$DISTGRAD_RUN_DIR/metrics.jsonl")
fi
read -r -a extra <<<"$DISTGRAD_ARGS" || true
train+=(${extra[@]+"${extra[@]}"})

# The traps come first: Slurm may send the time-limit signal up to a minute early, even
# during the checks below, and an untrapped SIGUSR1 would end this shell and the job (seen
# with a 1-minute limit: the job failed 1 s in). One that comes before training is kept:
# training is then not started and the job requeues.
launcher=""
stop_signal=""
# shellcheck disable=SC2317  # called by the traps below
forward() {
  stop_signal="$1"
  echo "== SIG$1 received $(date -Is): passing it on to the ranks"
  if [ -n "$launcher" ]; then kill -s "$1" "$launcher" 2>/dev/null || true; fi
}
trap 'forward USR1' USR1
trap 'forward TERM' TERM

echo "== job $SLURM_JOB_ID (${SLURM_JOB_NAME:-}) on $(hostname), $(date -Is)," \
  "start $((${SLURM_RESTART_COUNT:-0} + 1))"
echo "   nodes: ${SLURM_JOB_NODELIST:-?} (${SLURM_JOB_NUM_NODES:-?}); tasks: $SLURM_NTASKS," \
  "per node: ${SLURM_TASKS_PER_NODE:-?}; cpus per task: $OMP_NUM_THREADS;" \
  "GPUs: ${SLURM_JOB_GPUS:-none}"
echo "   launcher: ${launch[*]}; python: $python"
echo "   data: ${DISTGRAD_DATA:-(default)}; run dir: ${DISTGRAD_RUN_DIR:-(none)}"
echo "== rank layout"
# shellcheck disable=SC2016  # expanded by each rank, not here
"${launch[@]}" ${bind[@]+"${bind[@]}"} bash -c 'echo "rank ${PMI_RANK:-${OMPI_COMM_WORLD_RANK:-$SLURM_PROCID}}:" \
  "node ${SLURMD_NODENAME:-?} (host $(hostname))," \
  "local rank ${MPI_LOCALRANKID:-${OMPI_COMM_WORLD_LOCAL_RANK:-${SLURM_LOCALID:-?}}}," \
  "CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-(unset)}"' | sort -V
echo "== distgrad info (every rank)"
"${launch[@]}" ${bind[@]+"${bind[@]}"} "$python" -m distgrad info
echo "== distgrad train"
printf '+ %s\n' "${launch[*]} ${bind[*]:+${bind[*]} }$python ${train[*]}"
if [ -n "$stop_signal" ]; then
  # Asked to stop before training began: training is not started (a signal passed on to a
  # launcher still starting its ranks can be lost), and the job requeues as after a stop.
  echo "== SIG$stop_signal came before training started: not starting it"
  status=$EXIT_PREEMPTED
else
  # In the background, so that this shell runs its traps at once (bash runs them only after a
  # foreground command ends) and passes the signal on to the launcher.
  "${launch[@]}" ${bind[@]+"${bind[@]}"} "$python" "${train[@]}" &
  launcher=$!
  status=0
  while :; do
    wait "$launcher" && status=0 || status=$?
    # A trapped signal interrupts wait (status > 128) while the launcher still runs.
    kill -0 "$launcher" 2>/dev/null || break
  done
  wait "$launcher" && status=0 || status=$?   # the launcher's own exit status
fi
echo "== finished $(date -Is), exit status $status"
if [ "$status" = "$EXIT_PREEMPTED" ] || { [ -n "$stop_signal" ] && [ "$status" != 0 ]; }; then
  restarts="${SLURM_RESTART_COUNT:-0}"
  if [ -n "$DISTGRAD_RUN_DIR" ] && [ "$restarts" -lt "$DISTGRAD_MAX_REQUEUES" ]; then
    echo "== requeueing job $SLURM_JOB_ID (start $((restarts + 2)) will resume from the checkpoint)"
    scontrol requeue "$SLURM_JOB_ID"
    exit 0
  fi
  if [ -z "$DISTGRAD_RUN_DIR" ]; then
    echo "== not requeued: without DISTGRAD_RUN_DIR there is no checkpoint to resume from"
  else
    echo "== not requeued: started $((restarts + 1)) times (DISTGRAD_MAX_REQUEUES=$DISTGRAD_MAX_REQUEUES)"
  fi
fi
exit "$status"
