"""``--tensorboard DIR``: event files for TensorBoard, written by rank 0 through tensorboardX
(``pip install 'distgrad[tensorboard]'``)."""


def require_tensorboardx():
    """The ``SummaryWriter`` class, or a RuntimeError that says how to install it."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise RuntimeError("--tensorboard needs tensorboardX: pip install "
                           "'distgrad[tensorboard]' (or pip install tensorboardX), or leave "
                           "out --tensorboard") from None
    return SummaryWriter


class TensorBoardWriter:
    """Scalars under ``train/``, ``test/`` and ``comm/``, x axis = optimiser step."""

    def __init__(self, logdir, enabled=True, purge_step=None):
        self._writer = None
        if enabled and logdir:
            # purge_step drops events a killed run wrote after the checkpoint it resumes from.
            self._writer = require_tensorboardx()(logdir=logdir, purge_step=purge_step)

    def scalars(self, step, prefix, **values):
        """Add ``prefix/name`` = value for each keyword."""
        if self._writer is not None:
            for name, value in values.items():
                self._writer.add_scalar(f"{prefix}/{name}", value, step)

    def close(self):
        """Flush and close the event file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
