"""Whether operations record a graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled`` and
``inference_mode`` switch recording for a block or a function, per thread, as in PyTorch."""
import functools
import inspect
import threading

_state = threading.local()


def is_grad_enabled():
    """True unless recording is switched off on this thread (``no_grad()`` and friends)."""
    return getattr(_state, "enabled", True)


def _set_enabled(mode):
    _state.enabled = mode


class _GradMode:
    """A context manager and decorator that sets grad mode to ``self._mode`` for its block and
    restores what was there before on exit."""

    _mode = True

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set_enabled(self._mode)

    def __exit__(self, *exc):
        _set_enabled(self._prev)
        return False

    def _clone(self):
        return type(self)()

    def __call__(self, fn):
        if inspect.isgeneratorfunction(fn):
            return self._wrap_generator(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._clone():
                return fn(*args, **kwargs)
        return wrapper

    def _wrap_generator(self, fn):
        # The mode holds only while the generator body runs: each step enters it afresh, so
        # the caller's code between two ``next()`` calls keeps the caller's own mode.
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._clone():
                gen = fn(*args, **kwargs)
                try:
                    sent = next(gen)
                except StopIteration as stop:
                    return stop.value
            while True:
                try:
                    received = yield sent
                except BaseException as error:  # thrown into us: pass it on to the body
                    with self._clone():
                        try:
                            sent = gen.throw(error)
                        except StopIteration as stop:
                            return stop.value
                    continue
                with self._clone():
                    try:
                        sent = gen.send(received)
                    except StopIteration as stop:
                        return stop.value
        return wrapper


class no_grad(_GradMode):
    """Context manager and decorator (``@no_grad()`` or ``@no_grad``) under which no graph is
    recorded: results do not require grad.

    >>> with no_grad():
    ...     y = x * 2          # y.requires_grad is False
    """

    _mode = False

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)  # bare ``@no_grad`` on a function, as PyTorch allows


class enable_grad(no_grad):
    """Context manager and decorator that switches recording back on, e.g. inside ``no_grad``."""

    _mode = True


class set_grad_enabled(_GradMode):
    """Switch recording on or off: ``set_grad_enabled(False)`` as a call takes effect at once;
    ``with set_grad_enabled(mode):`` restores the previous mode after the block.

    >>> with set_grad_enabled(is_train):
    ...     loss = model(x).sum()
    """

    def __init__(self, mode):
        self._mode = bool(mode)
        self._prev = is_grad_enabled()
        _set_enabled(self._mode)

    def __enter__(self):
        pass  # the mode was set by the constructor, as in PyTorch

    def _clone(self):
        return _Mode(self._mode)

    def __call__(self, fn):
        _set_enabled(self._prev)  # as a decorator it only describes the mode for ``fn``
        return super().__call__(fn)


class _Mode(_GradMode):
    def __init__(self, mode):
        self._mode = mode


class inference_mode(_GradMode):
    """Context manager and decorator for inference: no graph is recorded, as under
    ``no_grad`` (``inference_mode(False)`` leaves recording as it is).

    PyTorch also marks tensors made here as inference tensors to skip version counting;
    distgrad keeps no version counters, so ``no_grad`` is all there is to it.
    """

    def __new__(cls, mode=True):
        if callable(mode):  # bare ``@inference_mode`` on a function
            return cls(True)(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def __enter__(self):
        self._prev = is_grad_enabled()
        if self.mode:
            _set_enabled(False)

    def _clone(self):
        return inference_mode(self.mode)

