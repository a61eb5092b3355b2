"""Each model's default training recipe and the exit codes of ``distgrad train``.

The recipes reach Fashion-MNIST's targets in 3 epochs at 1 and 2 ranks (CNN >= 91%, MLP >= 86%;
figures in BENCHMARKS.md); a flag given on the command line overrides its part of the recipe.
"""
import textwrap

from ..distributed.abort import EXIT_EXCEPTION, EXIT_WATCHDOG

RECIPES = {
    "cnn": {"batch_size": 32, "lr": 3e-3, "warmup_steps": 200, "lr_schedule": "cosine"},
    "mlp": {"batch_size": 32, "lr": 1e-3, "warmup_steps": 0, "lr_schedule": "cosine"},
}

EXIT_OK = 0
EXIT_USAGE = 2         # settings, data, outputs or checkpoints that cannot work: nothing trained
EXIT_NONFINITE = 4     # a NaN/inf gradient stopped the run (--on-nonfinite)
EXIT_PREEMPTED = 75    # SIGTERM/SIGINT/SIGUSR1: checkpoint written, run again with --resume

EXIT_CODES = (
    (EXIT_OK, "training finished"),
    (EXIT_EXCEPTION, "an uncaught exception on some rank (its traceback is printed) ended the job"),
    (EXIT_USAGE, "settings, data, output paths or checkpoints that cannot work (nothing trained)"),
    (EXIT_WATCHDOG, "a rank waited in a collective longer than --watchdog-timeout; the message "
                    "names the ranks that did not arrive"),
    (EXIT_NONFINITE, "a non-finite gradient stopped the run (--on-nonfinite stop, or with skip "
                     "the --max-skips-th such step in a row); no non-finite checkpoint is written"),
    (EXIT_PREEMPTED, "stopped by SIGTERM, SIGINT or SIGUSR1 (after the step in progress) "
                     "after writing a checkpoint: run again with --resume (EX_TEMPFAIL)"),
)


def recipe_help(key):
    """``"cnn 0.003, mlp 0.001"``: the recipes' value of ``key``, for --help."""
    return ", ".join(f"{model} {recipe[key]}" for model, recipe in sorted(RECIPES.items()))


def apply_recipe(args):
    """Fill the settings left unset (None) from the recipe of ``args.model``."""
    for key, value in RECIPES.get(args.model, {}).items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    return args


def epilog():
    """The text after the options in ``distgrad train --help``."""
    lines = ["default recipes (a flag overrides its part):"]
    for model, recipe in sorted(RECIPES.items()):
        lines.append(f"  {model}: Adam, lr {recipe['lr']}, batch {recipe['batch_size']}/rank, "
                     f"{recipe['warmup_steps']} warm-up steps, {recipe['lr_schedule']} schedule")
    lines.append("  (Fashion-MNIST, 3 epochs, 1 or 2 ranks: CNN >= 91%, MLP >= 86%)")
    lines.append("")
    lines.append("exit codes:")
    lines += [textwrap.fill(text, 78, initial_indent=f"  {code:>3}  ", subsequent_indent=" " * 7)
              for code, text in EXIT_CODES]
    return "\n".join(lines)
