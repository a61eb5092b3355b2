"""Creation functions and dtypes against PyTorch: values, dtypes, shapes and errors."""
import warnings

import numpy
import pytest

import distgrad

try:
    import torch
except ImportError:  # torch is an optional oracle
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is the reference")


def same(got, ref):
    """``got`` (distgrad) equals ``ref`` (torch) in type, dtype, shape and values."""
    assert isinstance(got, distgrad.Tensor), type(got)
    ref = ref.detach().numpy()
    assert got.dtype == ref.dtype, (got.dtype, ref.dtype)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    if ref.dtype.kind in "fc":
        numpy.testing.assert_allclose(got.numpy(), ref, rtol=1e-6, atol=1e-7)
    else:
        numpy.testing.assert_array_equal(got.numpy(), ref)


@pytest.fixture
def default_float32():
    yield
    distgrad.set_default_dtype(distgrad.float32)
    if torch is not None:
        torch.set_default_dtype(torch.float32)


# --- tensor(): dtype inference ----------------------------------------------------------------
INFERENCE_CASES = [
    [1, 2], [1.0, 2.0], [True, False], 3.5, 3, [1, 2.5], [True, 2], [], [[], []], [[1], [2.0]],
    1 + 2j, [[1, 2], [3, 4]], (1, 2), numpy.float64(1.5), [numpy.float64(1.5)], numpy.float32(1.5),
    [numpy.int32(1), 2], numpy.int32(1), [numpy.float32(1), 2.5], numpy.bool_(True),
    [1, numpy.uint8(2)], numpy.array([0.5, 1.5]), numpy.arange(3, dtype=numpy.int16),
    [numpy.ones(2), numpy.ones(2)], [numpy.ones(2, dtype=numpy.float32), [1, 2]],
]


@needs_torch
@pytest.mark.parametrize("data", INFERENCE_CASES, ids=repr)
def test_tensor_infers_dtype_and_shape_as_torch(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about lists of ndarrays
        same(distgrad.tensor(data), torch.tensor(data))


@needs_torch
def test_tensor_of_one_element_tensors_takes_their_dtype():
    same(distgrad.tensor([distgrad.tensor(1.0), distgrad.tensor(2.0)]),
         torch.tensor([torch.tensor(1.0), torch.tensor(2.0)]))
    same(distgrad.tensor([distgrad.tensor([1.0], dtype=distgrad.float64)]),
         torch.tensor([torch.tensor([1.0], dtype=torch.float64)]))
    same(distgrad.tensor([distgrad.tensor(1), 2.5]), torch.tensor([torch.tensor(1), 2.5]))


@needs_torch
def test_tensor_follows_the_default_dtype(default_float32):
    distgrad.set_default_dtype(distgrad.float64)
    torch.set_default_dtype(torch.float64)
    for data in ([1.0, 2.0], 1 + 1j, [1, 2]):
        same(distgrad.tensor(data), torch.tensor(data))
    same(distgrad.zeros(2), torch.zeros(2))
    same(distgrad.arange(0, 1, 0.25), torch.arange(0, 1, 0.25))
    assert distgrad.get_default_dtype() is distgrad.float64


def test_set_default_dtype_refuses_integers(default_float32):
    with pytest.raises(TypeError, match="only floating-point types.*int64"):
        distgrad.set_default_dtype(distgrad.int64)
    assert distgrad.get_default_dtype() is distgrad.float32


def test_tensor_copies_and_honours_dtype_device_requires_grad():
    array = numpy.array([1.0, 2.0])
    t = distgrad.tensor(array, dtype=distgrad.float32, device=distgrad.device("cpu"),
                        requires_grad=True)
    array[0] = 5
    assert t.dtype is distgrad.float32 and t.requires_grad and t.tolist() == [1.0, 2.0]
    same_data = numpy.array([1.0])
    assert distgrad.tensor(same_data).array is not same_data
    with pytest.warns(UserWarning, match="detach\\(\\).clone\\(\\)"):
        copy = distgrad.tensor(t)
    assert copy.array is not t.array and not copy.requires_grad


@pytest.mark.parametrize("data, error, words", [
    ("a", TypeError, "string 'a'"),
    ([1, "a"], TypeError, "string 'a'"),
    (None, RuntimeError, "Could not infer dtype of NoneType"),
    ({1: 2}, RuntimeError, "Could not infer dtype of dict"),
    ([[1, 2], [3]], ValueError, "expected sequence of length 2 at dim 1 \\(got 1\\)"),
    ([[1, 2], 3], TypeError, "number where a sequence of length 2 was expected at dim 1"),
    ([1, [2, 3]], TypeError, "sequence where a number was expected at dim 1"),
    ([distgrad.ones(2), distgrad.ones(2)], ValueError, "distgrad.stack"),
    (numpy.array(["a"]), TypeError, "dtype <U1"),
])
def test_tensor_rejects_bad_data_in_words(data, error, words):
    with pytest.raises(error, match=words):
        distgrad.tensor(data)
    if torch is not None:  # PyTorch raises the same class
        with pytest.raises(error):
            torch.tensor(data if not isinstance(data, list) or not isinstance(data[0], distgrad.Tensor)
                         else [torch.ones(2), torch.ones(2)])


# --- as_tensor, from_numpy ----------------------------------------------------------------------
def test_from_numpy_shares_memory_and_keeps_dtype():
    array = numpy.array([1.0, 2.0, 3.0])
    t = distgrad.from_numpy(array)
    array[0] = 10.0
    assert t.dtype is distgrad.float64 and t.tolist() == [10.0, 2.0, 3.0]
    t.array[1] = 20.0
    assert array[1] == 20.0
    if torch is not None:
        same(distgrad.from_numpy(numpy.arange(3)), torch.from_numpy(numpy.arange(3)))


def test_from_numpy_errors_say_what_to_pass():
    with pytest.raises(TypeError, match="expected a numpy.ndarray, got list"):
        distgrad.from_numpy([1, 2])
    with pytest.raises(ValueError, match="negative stride.*ascontiguousarray"):
        distgrad.from_numpy(numpy.arange(4)[::-1])
    with pytest.raises(TypeError, match="dtype object"):
        distgrad.from_numpy(numpy.array([None]))


def test_as_tensor_shares_what_it_can():
    array = numpy.arange(3.0)
    t = distgrad.as_tensor(array)
    array[0] = 9
    assert t.tolist() == [9.0, 1.0, 2.0] and t.dtype is distgrad.float64
    assert distgrad.as_tensor(t) is t
    converted = distgrad.as_tensor(array, dtype=distgrad.float32)
    array[1] = 7
    assert converted.tolist() == [9.0, 1.0, 2.0] and converted.dtype is distgrad.float32
    assert distgrad.as_tensor(t, dtype=distgrad.float32).dtype is distgrad.float32
    if torch is not None:
        same(distgrad.as_tensor([1, 2, 3]), torch.as_tensor([1, 2, 3]))
        same(distgrad.as_tensor([1.5]), torch.as_tensor([1.5]))


# --- filled -------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("name", ["zeros", "ones"])
def test_zeros_and_ones_take_every_form_of_size(name):
    mine, ref = getattr(distgrad, name), getattr(torch, name)
    same(mine(2, 3), ref(2, 3))
    same(mine((2, 3)), ref((2, 3)))
    same(mine([2, 3]), ref([2, 3]))
    same(mine(size=(2, 3)), ref(size=(2, 3)))
    same(mine(()), ref(()))
    same(mine(3, dtype=distgrad.int64), ref(3, dtype=torch.int64))
    same(mine(2, dtype=distgrad.bool), ref(2, dtype=torch.bool))
    t = mine(2, device="cpu", requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.device == distgrad.device("cpu")


def test_size_errors_name_the_size():
    with pytest.raises(TypeError, match="size must be ints.*\\(2, 3.0\\)"):
        distgrad.zeros(2, 3.0)
    with pytest.raises(RuntimeError, match="non-negative.*\\(-1,\\)"):
        distgrad.ones(-1)
    with pytest.raises(TypeError, match="both as positional"):
        distgrad.zeros(2, size=(2,))


@needs_torch
def test_full_infers_dtype_from_the_value():
    for value in (7.0, 4, True, numpy.float64(1.5), 1 + 1j):
        same(distgrad.full((2, 3), value), torch.full((2, 3), value))
    same(distgrad.full((2,), 4, dtype=distgrad.float64), torch.full((2,), 4, dtype=torch.float64))
    same(distgrad.full(3, 2.0), torch.full((3,), 2.0))


@needs_torch
def test_empty_and_eye():
    e = distgrad.empty(2, 3)
    assert e.shape == (2, 3) and e.dtype is distgrad.float32
    assert distgrad.empty(size=(4,), dtype=distgrad.int64).dtype is distgrad.int64
    same(distgrad.eye(3), torch.eye(3))
    same(distgrad.eye(2, 3), torch.eye(2, 3))
    same(distgrad.eye(2, dtype=distgrad.int64), torch.eye(2, dtype=torch.int64))


@needs_torch
@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like"])
def test_like_functions_keep_shape_dtype_device(name):
    x = distgrad.tensor([[1, 2, 3]], dtype=distgrad.int32)
    ref = getattr(torch, name)(torch.tensor([[1, 2, 3]], dtype=torch.int32))
    got = getattr(distgrad, name)(x)
    assert got.dtype == ref.dtype.__str__().split(".")[1] and got.shape == tuple(ref.shape)
    assert got.device == x.device
    cast = getattr(distgrad, name)(x, dtype=distgrad.float64, requires_grad=True)
    assert cast.dtype is distgrad.float64 and cast.requires_grad
    if name != "empty_like":
        same(got, ref)


@needs_torch
def test_full_like():
    x = distgrad.tensor([1.0, 2.0])
    same(distgrad.full_like(x, 7), torch.full_like(torch.tensor([1.0, 2.0]), 7))
    same(distgrad.full_like(x, 7, dtype=distgrad.int64),
         torch.full_like(torch.tensor([1.0, 2.0]), 7, dtype=torch.int64))
    with pytest.raises(TypeError, match="must be a Tensor, got list"):
        distgrad.full_like([1.0], 2)


# --- ranges -------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("args", [(5,), (2, 10, 3), (0.0, 1.0, 0.1), (0, 1, 0.1), (-3, 3),
                                  (1.5,), (10, 0, -2), (0, 5, 1.0), (0, 0)])
def test_arange_as_torch(args):
    same(distgrad.arange(*args), torch.arange(*args))


@needs_torch
def test_arange_with_dtype_and_tensor_bounds():
    same(distgrad.arange(5, dtype=distgrad.float32), torch.arange(5, dtype=torch.float32))
    same(distgrad.arange(distgrad.tensor(3)), torch.arange(torch.tensor(3)))


def test_arange_errors_as_torch():
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        distgrad.arange(0, 5, 0)
    with pytest.raises(RuntimeError, match="inconsistent with the step's sign"):
        distgrad.arange(0, 5, -1)


@needs_torch
@pytest.mark.parametrize("args, kwargs", [((0, 1), {"steps": 5}), ((-1, 1, 7), {}),
                                          ((0, 10, 5), {"dtype": "int64"}), ((3, 3, 1), {}),
                                          ((0, 1, 0), {}), ((0, 1, 4), {"dtype": "float64"})])
def test_linspace_as_torch(args, kwargs):
    got = distgrad.linspace(*args, **{k: numpy.dtype(v) for k, v in kwargs.items() if k == "dtype"},
                            **{k: v for k, v in kwargs.items() if k != "dtype"})
    ref = torch.linspace(*args, **{k: getattr(torch, v) for k, v in kwargs.items() if k == "dtype"},
                         **{k: v for k, v in kwargs.items() if k != "dtype"})
    assert got.dtype == ref.numpy().dtype and got.shape == tuple(ref.shape)
    numpy.testing.assert_allclose(got.numpy(), ref.numpy(), atol=1e-6)


def test_linspace_refuses_negative_steps():
    with pytest.raises(RuntimeError, match="non-negative, got -1"):
        distgrad.linspace(0, 1, -1)


# --- questions ----------------------------------------------------------------------------------
def test_is_tensor_is_floating_point_numel():
    x = distgrad.zeros(2, 3)
    assert distgrad.is_tensor(x) and distgrad.is_tensor(distgrad.nn.Parameter(x))
    assert not distgrad.is_tensor([1, 2]) and not distgrad.is_tensor(numpy.zeros(2))
    assert distgrad.is_floating_point(x) is True
    assert distgrad.is_floating_point(distgrad.tensor([1])) is False
    assert distgrad.numel(x) == 6 and type(distgrad.numel(x)) is int
    with pytest.raises(TypeError, match="must be a Tensor, got list"):
        distgrad.numel([1, 2])
