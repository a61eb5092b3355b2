"""Module-level functions: ``torch.exp(x)``, ``torch.max(x, 1)``, creation, grad modes, seeds."""
import numpy

from .inputs import BATCH3D, IMAGES, M, POSITIVE, V, W, X
from . import category

idiom = category("module-level functions")


@idiom
def flatten_from_dim_1(torch):
    return torch.flatten(torch.tensor(IMAGES), 1)


@idiom
def elementwise_math(torch):
    x = torch.tensor(X)
    return torch.exp(x), torch.sin(x), torch.cos(x), torch.tanh(x), torch.abs(x)


@idiom
def log_and_sqrt(torch):
    x = torch.tensor(POSITIVE)
    return torch.log(x), torch.sqrt(x)


@idiom
def sigmoid_and_relu(torch):
    x = torch.tensor(X)
    return torch.sigmoid(x), torch.relu(x)


@idiom
def exp_gradient(torch):
    x = torch.tensor(V, requires_grad=True)
    torch.exp(x).sum().backward()
    return x.grad


@idiom
def sum_and_mean(torch):
    x = torch.tensor(X)
    return torch.sum(x), torch.mean(x), torch.sum(x, dim=1), torch.mean(x, dim=0, keepdim=True)


@idiom
def max_over_all(torch):
    return torch.max(torch.tensor(M))


@idiom
def max_over_dim_is_named_tuple(torch):
    return torch.max(torch.tensor(M), 1)


@idiom
def max_of_two_tensors(torch):
    return torch.max(torch.tensor(V), torch.zeros(5))


@idiom
def min_over_dim_keepdim(torch):
    return torch.min(torch.tensor(M), dim=0, keepdim=True)


@idiom
def argmax_and_argmin(torch):
    m = torch.tensor(M)
    return torch.argmax(m), torch.argmax(m, dim=1), torch.argmin(m, dim=0, keepdim=True)


@idiom
def where_three_arguments(torch):
    x = torch.tensor(V)
    return torch.where(x > 0, x, torch.zeros_like(x))


@idiom
def where_with_scalar(torch):
    x = torch.tensor(V)
    return torch.where(x > 0, x, 0.0)


@idiom
def matmul_mm_bmm(torch):
    x, w, b = torch.tensor(X), torch.tensor(W), torch.tensor(BATCH3D)
    return torch.matmul(x, w), torch.mm(x, w), torch.bmm(b, b.transpose(1, 2))


@idiom
def clamp_min_max(torch):
    x = torch.tensor(X)
    return torch.clamp(x, min=-0.5, max=0.5), torch.clamp(x, min=0)


@idiom
def pow_tensor_scalar(torch):
    return torch.pow(torch.tensor(V), 2)


@idiom
def cat_and_stack(torch):
    a, b = torch.tensor(V), torch.tensor(V * 2)
    return torch.cat([a, b]), torch.stack([a, b]), torch.stack([a, b], dim=1)


@idiom
def cat_along_dim_1(torch):
    x = torch.tensor(X)
    return torch.cat((x, x[:, :2]), dim=1)


@idiom
def linspace(torch):
    return torch.linspace(0, 1, steps=5)


@idiom
def arange_dtypes(torch):
    return torch.arange(5), torch.arange(0.0, 1.0, 0.25), torch.arange(2, 10, 3)


@idiom
def eye(torch):
    return torch.eye(3), torch.eye(2, 3)


@idiom
def empty_shape_and_dtype(torch):
    e = torch.empty(2, 3)
    return e.shape, e.dtype


@idiom
def full(torch):
    return torch.full((2, 3), 7.0), torch.full((2,), 4)


@idiom
def zeros_ones_varargs_and_tuple(torch):
    return torch.zeros(2, 3), torch.ones((2, 3)), torch.zeros(3, dtype=torch.int64)


@idiom
def zeros_like_ones_like(torch):
    x = torch.tensor(X)
    return torch.zeros_like(x), torch.ones_like(x), torch.ones_like(x, dtype=torch.float64)


@idiom
def randn_like_rand_like_shapes(torch):
    x = torch.tensor(X)
    a, b = torch.randn_like(x), torch.rand_like(x)
    return a.shape, a.dtype, b.shape, b.dtype, b.min().item() >= 0, b.max().item() < 1


@idiom
def randint_range_and_dtype(torch):
    r = torch.randint(0, 10, (1000,))
    return r.shape, r.dtype, r.min().item() >= 0, r.max().item() <= 9


@idiom
def randint_high_only(torch):
    r = torch.randint(5, (2, 3))
    return r.shape, r.dtype, bool((r < 5).all())


@idiom
def randperm_is_a_permutation(torch):
    p = torch.randperm(10)
    return p.dtype, sorted(p.tolist()) == list(range(10))


@idiom
def randn_statistics(torch):
    x = torch.randn(100000)
    return x.dtype, abs(x.mean().item()) < 0.02, abs(x.std().item() - 1) < 0.02


@idiom
def rand_range(torch):
    x = torch.rand(3, 4)
    return x.shape, x.min().item() >= 0, x.max().item() < 1


@idiom
def manual_seed_repeats_draws(torch):
    torch.manual_seed(1234)
    a = torch.randn(5)
    torch.manual_seed(1234)
    b = torch.randn(5)
    return a.tolist() == b.tolist()


@idiom
def from_numpy_shares_memory(torch):
    array = numpy.array([1.0, 2.0, 3.0])
    t = torch.from_numpy(array)
    array[0] = 10.0
    return t


@idiom
def as_tensor_and_is_tensor(torch):
    t = torch.as_tensor([1, 2, 3])
    return t, torch.is_tensor(t), torch.is_tensor([1, 2, 3])


@idiom
def tensor_infers_dtype(torch):
    return (torch.tensor([1, 2]).dtype, torch.tensor([1.0, 2.0]).dtype,
            torch.tensor([True, False]).dtype, torch.tensor(3.5).dtype, torch.tensor(3).shape)


@idiom
def tensor_from_float64_numpy_keeps_dtype(torch):
    return torch.tensor(numpy.array([0.5, 1.5])).dtype, torch.from_numpy(numpy.arange(3)).dtype


@idiom
def no_grad_context(torch):
    x = torch.tensor(V, requires_grad=True)
    with torch.no_grad():
        y = x * 2
    return y.requires_grad, torch.is_grad_enabled()


@idiom
def no_grad_decorator(torch):
    @torch.no_grad()
    def evaluate(x):
        return x * 2

    return evaluate(torch.tensor(V, requires_grad=True)).requires_grad


@idiom
def enable_grad_inside_no_grad(torch):
    x = torch.tensor(V, requires_grad=True)
    with torch.no_grad():
        with torch.enable_grad():
            y = x * 2
    return y.requires_grad


@idiom
def set_grad_enabled_false(torch):
    x = torch.tensor(V, requires_grad=True)
    with torch.set_grad_enabled(False):
        y = x * 2
    return y.requires_grad, torch.is_grad_enabled()


@idiom
def inference_mode(torch):
    x = torch.tensor(V, requires_grad=True)
    with torch.inference_mode():
        y = x * 2
    return y.requires_grad, y


@idiom
def set_and_get_num_threads(torch):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


@idiom
def softmax_and_log_softmax(torch):
    x = torch.tensor(X)
    return torch.softmax(x, dim=1), torch.log_softmax(x, dim=1)


@idiom
def numel_and_equal(torch):
    x = torch.tensor(X)
    return torch.numel(x), torch.equal(x, x.clone()), torch.allclose(x, x + 1e-9)


@idiom
def topk_and_sort_functions(torch):
    x = torch.tensor(V)
    return torch.topk(x, 2), torch.sort(x, descending=True), torch.argsort(x)


@idiom
def unsqueeze_squeeze_reshape(torch):
    x = torch.tensor(V)
    return (torch.unsqueeze(x, 0).shape, torch.squeeze(x[None, :, None]).shape,
            torch.reshape(x, (5, 1)))


@idiom
def transpose_and_permute(torch):
    b = torch.tensor(BATCH3D)
    return torch.transpose(b, 0, 1), torch.permute(b, (2, 0, 1))


@idiom
def gather_function(torch):
    m = torch.tensor(M)
    return torch.gather(m, 1, torch.tensor([[0], [2], [1]]))


@idiom
def cumsum_and_prod(torch):
    x = torch.tensor(V)
    return torch.cumsum(x, dim=0), torch.prod(x)
