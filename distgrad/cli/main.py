"""The ``distgrad`` command: ``distgrad train ...`` and ``distgrad info``."""
import argparse
import os
import sys

from ..models import MODELS
from .data import DATASETS
from .recipes import EXIT_USAGE, epilog, recipe_help


def _positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


def _non_negative(kind):
    def parse(text):
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
        return value
    return parse


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows defaults of options that take a value; flags and unset options say it in words;
    the epilog keeps its line breaks."""

    def _get_help_string(self, action):
        if action.nargs == 0 or action.default is None:
            return action.help
        return super()._get_help_string(action)


def build_parser():
    """The argument parser (exposed for the docs and tests)."""
    parser = argparse.ArgumentParser(
        prog="distgrad", description="Data-parallel training in plain Python. Run under "
        "`mpiexec -n N` (or srun) for N ranks; without a launcher it uses one process.")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train the MNIST MLP or CNN",
                       formatter_class=_HelpFormatter, epilog=epilog())
    t.add_argument("--model", choices=sorted(MODELS), default="cnn", help="the workload")
    t.add_argument("--dataset", choices=DATASETS, default="mnist",
                   help="synthetic needs no files (see --train-samples)")
    t.add_argument("--epochs", type=_positive(int), default=1, help="passes over the training set")
    t.add_argument("--batch-size", type=_positive(int), default=None,
                   help=f"per rank (default: {recipe_help('batch_size')})")
    t.add_argument("--lr", type=_positive(float), default=None,
                   help=f"learning rate (default: {recipe_help('lr')})")
    t.add_argument("--optimizer", choices=("sgd", "adam"), default="adam", help="optimiser")
    t.add_argument("--momentum", type=_non_negative(float), default=0.9, help="for sgd")
    t.add_argument("--weight-decay", type=_non_negative(float), default=0.0)
    t.add_argument("--lr-schedule", choices=("none", "step", "cosine"), default=None,
                   help=f"per-step schedule after the warm-up (default: {recipe_help('lr_schedule')})")
    t.add_argument("--lr-step-epochs", type=_positive(int), default=1, help="for --lr-schedule step")
    t.add_argument("--lr-gamma", type=_positive(float), default=0.7, help="for --lr-schedule step")
    t.add_argument("--warmup-steps", type=_non_negative(int), default=None,
                   help=f"linear warm-up (default: {recipe_help('warmup_steps')})")
    t.add_argument("--grad-clip", type=_non_negative(float), default=0.0, help="max gradient norm; 0 = off")
    t.add_argument("--accumulate", type=_positive(int), default=1, metavar="K",
                   help="micro-batches of --batch-size per optimiser step (gradient accumulation)")
    t.add_argument("--seed", type=int, default=0, help="initial weights, data order, dropout")
    t.add_argument("--data-dir", default=None, help="folder holding the IDX files; when "
                   "unset: $DISTGRAD_DATA/<dataset>, then ~/.cache/distgrad/<dataset>")
    t.add_argument("--no-download", dest="download", action="store_false",
                   help="never download: fail at once when the data set is not on disk "
                   "(default: download when not found)")
    t.add_argument("--train-samples", type=_positive(int), default=None,
                   help="use only this many training samples (quick runs)")
    t.add_argument("--test-samples", type=_positive(int), default=None,
                   help="use only this many test samples (quick runs)")
    t.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: a GPU per rank when CuPy sees one, else the CPU")
    t.add_argument("--bucket-cap-mb", type=_positive(float), default=25.0,
                   help="DDP gradient bucket size (the first bucket is at most 1 MB)")
    t.add_argument("--checkpoint-dir", default=None, help="where checkpoints are written")
    t.add_argument("--checkpoint-every", type=_non_negative(int), default=0, metavar="N",
                   help="also checkpoint every N steps (always at the end of each epoch)")
    t.add_argument("--keep-checkpoints", type=_positive(int), default=3)
    t.add_argument("--resume", action="store_true",
                   help="continue from the newest valid checkpoint (older ones when newer fail "
                   "verification); lr, epochs, schedule, weight decay, momentum and clipping "
                   "may change (warned about, schedule rebuilt from that step), the rest may not")
    t.add_argument("--on-nonfinite", choices=("stop", "skip", "off"), default="stop",
                   help="on a NaN/inf gradient on any rank: stop (exit 4), skip the step, or "
                   "do not check")
    t.add_argument("--max-skips", type=_positive(int), default=5, metavar="K",
                   help="with --on-nonfinite skip: stop (exit 4) at the K-th non-finite step in a row")
    t.add_argument("--metrics", default=None, metavar="FILE", help="JSON lines of step and epoch metrics")
    t.add_argument("--log-every", type=_positive(int), default=10, metavar="N",
                   help="steps between loss readings (each one waits for the device) and "
                   "between the ranks' checks for a stop signal")
    t.add_argument("--plot", default=None, metavar="FILE.png", help="loss and accuracy curves (matplotlib)")
    t.add_argument("--tensorboard", default=None, metavar="DIR",
                   help="TensorBoard event files: loss, accuracy, lr, samples/s, communication "
                   "(pip install 'distgrad[tensorboard]')")
    t.add_argument("--timeline", default=None, metavar="FILE", help="Chrome-trace timeline of compute and communication")
    t.add_argument("--save-model", default=None, metavar="FILE.npz", help="write the final state_dict")
    t.add_argument("--watchdog-timeout", type=_non_negative(float), default=None,
                   help="seconds a rank may wait in a collective before the job is aborted "
                   "(default $DISTGRAD_WATCHDOG_TIMEOUT or 600; 0 = off)")
    t.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar (default: a bar when stderr is a terminal)")

    sub.add_parser("info", help="versions, array backend, MPI library, ranks, GPUs")
    from .run import add_run_parser
    add_run_parser(sub, argparse.RawDescriptionHelpFormatter)
    from .scaling import add_scaling_parser
    add_scaling_parser(sub, _HelpFormatter)
    return parser


def main(argv=None):
    """Entry point of the ``distgrad`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "info":
        from .info import run
        return run(args)
    if args.command == "run":
        from .run import run
        return run(args)
    if args.command == "scaling":
        from .scaling import run
        return run(args)
    if args.plot and not args.metrics:
        args.metrics = os.path.splitext(args.plot)[0] + ".metrics.jsonl"
    from .train import USER_ERRORS, run
    try:
        return run(args)
    except USER_ERRORS as exc:
        # Mistakes a user can fix get their message, not a traceback; under MPI every rank
        # says it (the cause may be one rank's) and the job ends instead of leaving others waiting.
        from .. import distributed as dist
        many = dist.is_initialized() and dist.get_world_size() > 1
        from ..distributed.abort import last_words
        prefix = f"[rank {dist.get_rank()}] " if many else ""
        last_words(f"{prefix}distgrad train: error: {exc}")
        if many:
            dist.get_default_group().abort(EXIT_USAGE)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
