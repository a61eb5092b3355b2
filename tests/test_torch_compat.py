"""One test per everyday PyTorch idiom: distgrad must give what PyTorch gives (values, types,
shapes, dtypes, gradients, exception classes). The table lives in ``tests/idioms/`` and the
comparison rules in ``tests/compat_idioms.py``; ``python tests/compat_idioms.py`` prints the
score."""
import os
import subprocess
import sys

import numpy
import pytest

from compat_idioms import IDIOMS, check, difference, run

pytest.importorskip("torch")

_TESTS = os.path.dirname(os.path.abspath(__file__))


def _test_id(idiom):
    return f"{idiom.fn.__module__.rsplit('.', 1)[-1]}::{idiom.name}"  # e.g. data_grad::grad_zero_


def _isolated(idiom):
    """Whether an idiom runs in a fresh process: PyTorch's gloo process group, set up and torn
    down idiom after idiom in one process, now and then never returns from a call (a hang in
    PyTorch's side, seen with DDP); a process of its own with a time limit keeps that from
    stalling the suite."""
    return idiom.fn.__module__.endswith(".distributed")


def _check_in_a_fresh_process(idiom):
    code = ("import sys; from compat_idioms import IDIOMS, check; "
            f"o = check(next(i for i in IDIOMS if i.name == {idiom.name!r})); "
            "print(o.status); print(o.reason)")
    for attempt in range(2):  # a PyTorch-side hang is retried once in a new process
        try:
            done = subprocess.run([sys.executable, "-c", code], cwd=_TESTS, capture_output=True,
                                  text=True, timeout=120)
        except subprocess.TimeoutExpired:
            continue
        assert done.returncode == 0, done.stderr[-2000:]
        status, _, reason = done.stdout.partition("\n")
        return status.strip(), reason.strip()
    pytest.fail(f"{idiom.name} did not finish in 120 s, twice")


# Known, deliberate differences: each must keep failing (strict), so that this list stays true.
KNOWN_DIFFERENCES = {
    "dtype_is_floating_point": "distgrad's dtypes are NumPy's dtype objects, which cannot carry "
                               "attributes such as torch.float32.is_floating_point; use "
                               "distgrad.is_floating_point(t) or t.is_floating_point()",
}


@pytest.mark.parametrize("idiom", IDIOMS, ids=_test_id)
def test_idiom_behaves_as_in_pytorch(idiom, request):
    if idiom.name in KNOWN_DIFFERENCES:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_DIFFERENCES[idiom.name], strict=True))
    if _isolated(idiom):
        status, reason = _check_in_a_fresh_process(idiom)
    else:
        outcome = check(idiom)
        status, reason = outcome.status, outcome.reason
    if status == "skipped":
        pytest.skip(reason)
    assert status == "match", f"{status}: {reason}"


def test_idioms_are_deterministic_in_pytorch():
    """Run twice in PyTorch, every idiom gives the same result: none compares random draws."""
    unstable = []
    for idiom in IDIOMS:
        if idiom.raises or _isolated(idiom):  # those run in processes of their own
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
    assert not same(t, t.detach().numpy()) and not same(t, t.double()) and not same(t, t[None])
    assert not same(t, t.clone().requires_grad_())
    assert same(t.max(0), t.max(0)) and not same(t.max(0), tuple(t.max(0)))
    assert not same(1.0, numpy.float64(1.0)) and not same(1, 1.0) and not same(True, 1)
    assert not same([1], (1,)) and same(torch.Size([2, 3]), (2, 3))
    assert same(torch.float32, numpy.float32) and not same(torch.float32, numpy.dtype("float64"))
    assert same({"a": t}, {"a": t}) and not same({"a": t, "b": 1}, {"b": 1, "a": t})
