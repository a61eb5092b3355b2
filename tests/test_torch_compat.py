"""One test per everyday PyTorch idiom: distgrad must give what PyTorch gives (values, types,
shapes, dtypes, gradients, exception classes). The table lives in ``tests/idioms/`` and the
comparison rules in ``tests/compat_idioms.py``; ``python tests/compat_idioms.py`` prints the
score."""
import numpy
import pytest

from compat_idioms import IDIOMS, check, difference, run

pytest.importorskip("torch")


def _test_id(idiom):
    return f"{idiom.fn.__module__.rsplit('.', 1)[-1]}::{idiom.name}"  # e.g. data_grad::grad_zero_


@pytest.mark.parametrize("idiom", IDIOMS, ids=_test_id)
def test_idiom_behaves_as_in_pytorch(idiom):
    outcome = check(idiom)
    if outcome.status == "skipped":
        pytest.skip(outcome.reason)
    assert outcome.status == "match", f"{outcome.status}: {outcome.reason}"


def test_idioms_are_deterministic_in_pytorch():
    """Run twice in PyTorch, every idiom gives the same result: none compares random draws."""
    unstable = []
    for idiom in IDIOMS:
        if idiom.raises:
            continue
        try:
            first, second = run(idiom, "torch"), run(idiom, "torch")
        except ImportError:
            continue
        reason = difference(first, second, "torch", "torch")
        if reason:
            unstable.append(f"{idiom.name}: {reason}")
    assert not unstable, "\n".join(unstable)


def test_comparison_rules():
    """What counts as "the same result": the rules the score rests on."""
    import torch

    def same(ref, got):
        return difference(ref, got, "torch", "torch") is None

    t = torch.tensor([1.0, 2.0])
    assert same(t, t + 1e-7) and not same(t, t + 1e-2)
    assert not same(t, t.numpy()) and not same(t, t.double()) and not same(t, t[None])
    assert not same(t, t.clone().requires_grad_())
    assert same(t.max(0), t.max(0)) and not same(t.max(0), tuple(t.max(0)))
    assert not same(1.0, numpy.float64(1.0)) and not same(1, 1.0) and not same(True, 1)
    assert not same([1], (1,)) and same(torch.Size([2, 3]), (2, 3))
    assert same(torch.float32, numpy.float32) and not same(torch.float32, numpy.dtype("float64"))
    assert same({"a": t}, {"a": t}) and not same({"a": t, "b": 1}, {"b": 1, "a": t})
