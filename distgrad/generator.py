"""``Generator``: a random number generator object to hand over as ``generator=``, as
``torch.Generator``, so that one split or one shuffle can be seeded on its own."""
import json
import os

import numpy

from . import backend
from .autograd import Tensor

_DEFAULT_SEED = 67280421310721  # what a fresh torch.Generator starts from
_UINT64 = 0xffff_ffff_ffff_ffff


class Generator:
    """A seedable source of random numbers, for ``random_split(..., generator=g)`` and
    ``DataLoader(..., generator=g)``.

    Underneath is a NumPy ``Generator`` (PCG64): a seed gives the same numbers every time in
    distgrad, but not the numbers PyTorch's generator gives for that seed.

    >>> g = Generator().manual_seed(42)
    >>> g.initial_seed()
    42
    """

    def __init__(self, device="cpu"):
        self.device = backend.parse_device(device)
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed):
        """Restart from ``seed`` (an int in [-2**63, 2**64 - 1]); returns ``self``."""
        seed = int(seed)
        if not -(1 << 63) <= seed <= _UINT64:
            raise RuntimeError(f"Generator.manual_seed({seed}): the seed must be in "
                               f"[-0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff]")
        self._seed = seed if seed >= 0 else _UINT64 + seed  # PyTorch's mapping of negative seeds
        self._rng = numpy.random.default_rng(self._seed)
        return self

    def initial_seed(self):
        """The seed this generator was last started from."""
        return self._seed

    def seed(self):
        """Restart from a fresh non-deterministic seed and return that seed."""
        seed = int.from_bytes(os.urandom(8), "little") >> 1
        self.manual_seed(seed)
        return seed

    def get_state(self):
        """The generator's state as a uint8 Tensor (for ``set_state`` or ``distgrad.save``)."""
        state = {"seed": self._seed, "bit_generator": self._rng.bit_generator.state}
        return Tensor(numpy.frombuffer(json.dumps(state).encode(), dtype=numpy.uint8).copy())

    def set_state(self, new_state):
        """Restore a state ``get_state`` returned; returns ``self``."""
        raw = numpy.asarray(new_state, dtype=numpy.uint8).tobytes()
        try:
            state = json.loads(raw.decode())
            self._rng = numpy.random.default_rng()
            self._rng.bit_generator.state = state["bit_generator"]
        except (ValueError, KeyError, TypeError) as exc:
            raise RuntimeError("Generator.set_state: expected a state from Generator.get_state() "
                               f"({exc})") from None
        self._seed = state["seed"]
        return self

    def __repr__(self):
        return f"Generator(device={self.device!r}, initial_seed={self._seed})"


def _numpy_rng(generator, who):
    """The NumPy generator behind ``generator=``: distgrad's default one for None, the one inside
    a ``Generator``, or a ``numpy.random.Generator`` itself."""
    if generator is None:
        return backend.default_generator("cpu")
    if isinstance(generator, Generator):
        return generator._rng
    if isinstance(generator, numpy.random.Generator):
        return generator
    raise TypeError(f"{who}(generator={generator!r}): expected a distgrad.Generator, "
                    "e.g. distgrad.Generator().manual_seed(0), or None")
