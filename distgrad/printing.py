"""``set_printoptions``: how tensors print. Tensors print through NumPy's array printer, so these
are NumPy's print options, and they change how NumPy arrays print too."""
import sys

import numpy

# Digits after the point in a tensor's repr: PyTorch's 4 until set_printoptions says otherwise
# (kept here, not in NumPy's options, so plain NumPy arrays keep printing as they did).
TENSOR_PRECISION = 4

# PyTorch's profiles in NumPy's words.
_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=sys.maxsize, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None):
    """Set how tensors print, as ``torch.set_printoptions``.

    Args:
        precision: digits after the decimal point.
        threshold: print a summary (with ``...``) above this many elements.
        edgeitems: items shown at each end of a summarised dimension.
        linewidth: characters per line.
        profile: ``"default"``, ``"short"`` or ``"full"`` (PyTorch's presets), applied first.
        sci_mode: True always prints floats in scientific notation, False never does, None lets
            the printer choose.
    """
    global TENSOR_PRECISION
    options = {}
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions(profile={profile!r}): expected one of "
                             f"{sorted(_PROFILES)}")
        options.update(_PROFILES[profile])
    given = dict(precision=precision, threshold=threshold, edgeitems=edgeitems, linewidth=linewidth)
    options.update({key: value for key, value in given.items() if value is not None})
    if sci_mode is not None or profile is not None:
        options["suppress"] = sci_mode is False
        digits = options.get("precision", numpy.get_printoptions()["precision"])
        options["formatter"] = {"float_kind": f"{{:.{digits}e}}".format} if sci_mode else None
    numpy.set_printoptions(**options)
    TENSOR_PRECISION = options.get("precision", TENSOR_PRECISION)
