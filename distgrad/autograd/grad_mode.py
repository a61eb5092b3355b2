"""Whether operations record a graph: ``no_grad`` switches recording off for a block."""
import threading

_state = threading.local()


def is_grad_enabled():
    """True unless inside ``no_grad()`` on this thread."""
    return getattr(_state, "enabled", True)


class no_grad:
    """Context manager (and decorator) under which no graph is recorded.

    >>> with no_grad():
    ...     y = x * 2          # y.requires_grad is False
    """

    def __enter__(self):
        self._prev = is_grad_enabled()
        _state.enabled = False

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)
        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper


class enable_grad(no_grad):
    """Context manager that switches recording back on inside ``no_grad``."""

    def __enter__(self):
        self._prev = is_grad_enabled()
        _state.enabled = True
