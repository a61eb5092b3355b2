"""How every loss turns per-element losses into its result: ``reduction`` ('mean', 'sum',
'none'), and PyTorch's legacy ``size_average``/``reduce`` flags that still choose it."""
import warnings

from .reduction import mean, sum

REDUCTIONS = ("mean", "sum", "none")


def resolve_reduction(name, size_average, reduce, reduction, allowed=REDUCTIONS):
    """``reduction``, or the one the legacy flags choose (with PyTorch's deprecation warning)
    when either is given; a ValueError names an unknown reduction."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", stacklevel=3)
    if reduction not in allowed:
        names = [repr(r) for r in allowed]
        raise ValueError(f"{name} got reduction={reduction!r}: expected "
                         f"{', '.join(names[:-1])} or {names[-1]}")
    return reduction


def reduce_loss(losses, reduction):
    """Reduce a Tensor of per-element losses ('none' returns it as is)."""
    if reduction == "none":
        return losses
    return sum(losses) if reduction == "sum" else mean(losses)
