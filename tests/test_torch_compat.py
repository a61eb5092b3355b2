"""One test per everyday PyTorch idiom: distgrad must give what PyTorch gives (values, types,
shapes, dtypes, gradients, exception classes). The table lives in ``tests/idioms/`` and the
comparison rules in ``tests/compat_idioms.py``; ``python tests/compat_idioms.py`` prints the score."""
import pytest

from compat_idioms import IDIOMS, check

pytest.importorskip("torch")


@pytest.mark.parametrize("idiom", IDIOMS, ids=[f"{i.category}::{i.name}" for i in IDIOMS])
def test_idiom_behaves_as_in_pytorch(idiom):
    outcome = check(idiom)
    if outcome.status == "skipped":
        pytest.skip(outcome.reason)
    assert outcome.status == "match", f"{outcome.status}: {outcome.reason}"
