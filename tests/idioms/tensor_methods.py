"""Tensor methods with PyTorch's ``dim``/``keepdim``, return types and accuracy-loop idioms."""
from .inputs import BATCH3D, LABELS, LOGITS, M, POSITIVE, V, W, X
from . import category

idiom = category("Tensor methods")


@idiom
def max_dim_is_values_indices(torch):
    return torch.tensor(M).max(1)


@idiom
def max_dim_index_1_is_argmax(torch):
    output = torch.tensor(LOGITS)
    return output.max(1)[1]


@idiom
def max_dim_keepdim(torch):
    return torch.tensor(M).max(dim=1, keepdim=True)


@idiom
def max_named_fields(torch):
    result = torch.tensor(M).max(dim=0)
    return result.values, result.indices


@idiom
def max_unpacked(torch):
    values, indices = torch.tensor(LOGITS).max(dim=1)
    return values, indices


@idiom
def min_dim(torch):
    return torch.tensor(M).min(0), torch.tensor(M).min()


@idiom
def data_max_keepdim_index(torch):
    output = torch.tensor(LOGITS)
    return output.data.max(1, keepdim=True)[1]


@idiom
def argmax_keepdim(torch):
    output = torch.tensor(LOGITS)
    return output.argmax(dim=1, keepdim=True), output.argmax(1), output.argmax()


@idiom
def argmin_dim(torch):
    return torch.tensor(M).argmin(dim=0), torch.tensor(M).argmin(1, keepdim=True)


@idiom
def accuracy_eq_view_as(torch):
    output, target = torch.tensor(LOGITS), torch.tensor(LABELS)
    pred = output.argmax(dim=1, keepdim=True)
    return pred.eq(target.view_as(pred)).sum().item()


@idiom
def accuracy_type_float_sum(torch):
    pred, y = torch.tensor(LOGITS), torch.tensor(LABELS)
    return (pred.argmax(1) == y).type(torch.float).sum().item()


@idiom
def accuracy_float_mean(torch):
    pred, y = torch.tensor(LOGITS), torch.tensor(LABELS)
    return (pred.argmax(dim=1) == y).float().mean()


@idiom
def comparisons_with_tensor_and_scalar(torch):
    x, y = torch.tensor(V), torch.tensor(V[::-1].copy())
    return x.eq(y), x.ne(y), x.lt(0), x.le(0.5), x.gt(y), x.ge(2)


@idiom
def comparison_operators(torch):
    x = torch.tensor(V)
    return x == 2, x != 2, x < 0, x <= 0.5, x > 0, x >= 2


@idiom
def view_and_view_as(torch):
    x = torch.tensor(X)
    return x.view(-1), x.view(2, -1), x.view(20, 1).view_as(x)


@idiom
def reshape_forms(torch):
    x = torch.tensor(X)
    return x.reshape(5, 4), x.reshape((-1,)), x.reshape(-1, 2, 5).shape


@idiom
def flatten_method(torch):
    return torch.tensor(BATCH3D).flatten(1), torch.tensor(BATCH3D).flatten()


@idiom
def size_and_shape(torch):
    x = torch.tensor(X)
    return x.size(), x.size(0), x.size(-1), x.shape, x.shape[1], x.dim(), x.ndim


@idiom
def numel_and_len(torch):
    x = torch.tensor(X)
    return x.numel(), len(x)


@idiom
def type_and_type_as(torch):
    x, labels = torch.tensor(X), torch.tensor(LABELS)
    return x.type(torch.float64), labels.type_as(x)


@idiom
def conversion_methods(torch):
    x = torch.tensor(V)
    return x.float(), x.double(), x.half(), x.long(), x.int(), x.bool()


@idiom
def pow_method_and_operator(torch):
    x = torch.tensor(V)
    return x.pow(2), x ** 3, 2 ** x


@idiom
def mm_matmul_t(torch):
    x, w = torch.tensor(X), torch.tensor(W)
    return x.mm(w), x.matmul(w), x @ w, x.t(), x.T


@idiom
def clone_and_contiguous(torch):
    x = torch.tensor(X)
    c = x.clone()
    c[0, 0] = 100.0
    return x, c, x.t().contiguous(), x.t().is_contiguous()


@idiom
def expand_and_repeat(torch):
    v = torch.tensor(V[:3])
    return v.expand(2, 3), v.unsqueeze(0).expand(4, -1), v.repeat(2), v.repeat(2, 2)


@idiom
def expand_as(torch):
    return torch.tensor([[1.0], [2.0]]).expand_as(torch.tensor(M[:2]))


@idiom
def chunk_and_split(torch):
    x = torch.tensor(X)
    return x.chunk(2), x.split(2, dim=1), x.split([1, 3]), x.chunk(3, dim=1)


@idiom
def unbind(torch):
    return torch.tensor(M).unbind(1)


@idiom
def masked_fill(torch):
    x = torch.tensor(X)
    return x.masked_fill(x < 0, 0.0), x.masked_fill(x > 1, float("-inf"))


@idiom
def topk_named_tuple(torch):
    values, indices = torch.tensor(LOGITS).topk(2, dim=1)
    return values, indices, torch.tensor(V).topk(3, largest=False)


@idiom
def sort_named_tuple(torch):
    x = torch.tensor(V)
    return x.sort(), x.sort(descending=True).indices, torch.tensor(M).sort(dim=0), x.argsort()


@idiom
def gather_and_index_select(torch):
    m = torch.tensor(M)
    idx = torch.tensor([2, 0])
    gathered = m.gather(1, torch.tensor([[0], [2], [1]]))
    return gathered, m.index_select(0, idx), m.index_select(1, idx)


@idiom
def gather_log_probs_of_labels(torch):
    log_probs = torch.tensor(LOGITS).log_softmax(dim=1)
    return log_probs.gather(1, torch.tensor(LABELS).unsqueeze(1)).squeeze(1)


@idiom
def norm_forms(torch):
    x = torch.tensor(X)
    return (x.norm(), x.norm(2), x.norm(p=1, dim=1), x.norm(dim=0, keepdim=True),
            x.norm(float("inf")))


@idiom
def std_and_var(torch):
    x = torch.tensor(X)
    return x.std(), x.var(), x.std(dim=0), x.var(1, keepdim=True), x.std(unbiased=False)


@idiom
def var_correction(torch):
    x = torch.tensor(X)
    return x.var(dim=1, correction=0), x.std(0, keepdim=True)


@idiom
def any_and_all(torch):
    b = torch.tensor(X) > 0
    return b.any(), b.all(), b.any(dim=1), b.all(0), (b | ~b).all()


@idiom
def sum_mean_with_dims(torch):
    b = torch.tensor(BATCH3D)
    return (b.sum(dim=(0, 2)), b.mean(dim=1, keepdim=True), b.sum(-1), b.mean(),
            b.sum(2, keepdim=True))


@idiom
def prod_and_cumsum(torch):
    x = torch.tensor(M)
    return x.prod(), x.prod(1), x.cumsum(dim=0), x.cumsum(1)


@idiom
def new_zeros_ones_full(torch):
    x = torch.tensor(X)
    return x.new_zeros(2, 3), x.new_ones((3,)), x.new_full((2,), 7.0), x.new_tensor([1.0, 2.0])


@idiom
def tolist_and_item(torch):
    x = torch.tensor(M)
    return x.tolist(), x[0, 1].item(), x.sum().item(), torch.tensor(LABELS)[1].item()


@idiom
def item_types(torch):
    return (type(torch.tensor(1.5).item()).__name__, type(torch.tensor(3).item()).__name__,
            type(torch.tensor(True).item()).__name__)


@idiom
def unsqueeze_squeeze_methods(torch):
    x = torch.tensor(V)
    return x.unsqueeze(0), x.unsqueeze(-1), x.unsqueeze(1).squeeze(1), x[None].squeeze(0).shape


@idiom
def squeeze_all_and_dim(torch):
    b = torch.zeros(1, 3, 1)
    return b.squeeze().shape, b.squeeze(0).shape, b.squeeze(-1).shape, b.squeeze(1).shape


@idiom
def permute_and_transpose(torch):
    b = torch.tensor(BATCH3D)
    return (b.permute(2, 0, 1), b.permute((1, 0, 2)).shape, b.transpose(1, 2),
            b.transpose(-1, 0).shape)


@idiom
def clamp_method_forms(torch):
    x = torch.tensor(X)
    return x.clamp(min=0), x.clamp(max=0.5), x.clamp(-0.2, 0.2), x.clip(0, 1)


@idiom
def clamp_gradient(torch):
    x = torch.tensor(X, requires_grad=True)
    x.clamp(min=-0.5, max=0.5).sum().backward()
    return x.grad


@idiom
def elementwise_methods(torch):
    x = torch.tensor(V)
    return x.abs(), x.neg(), x.sign(), x.exp(), x.sigmoid(), x.tanh(), x.relu()


@idiom
def log_sqrt_methods(torch):
    x = torch.tensor(POSITIVE)
    return x.log(), x.sqrt(), x.rsqrt(), x.reciprocal(), x.log1p()


@idiom
def rounding(torch):
    x = torch.tensor(V * 1.3)
    return x.round(), x.floor(), x.ceil(), x.trunc()


@idiom
def arithmetic_methods(torch):
    x, y = torch.tensor(V), torch.tensor(V[::-1].copy())
    return x.add(y), x.add(y, alpha=2), x.sub(1), x.mul(2), x.div(4), x.div(y)


@idiom
def softmax_methods(torch):
    x = torch.tensor(LOGITS)
    return x.softmax(dim=1), x.log_softmax(-1), x.softmax(0)


@idiom
def indexing_forms(torch):
    x = torch.tensor(X)
    return x[0], x[:, 1], x[1:3, ::2], x[-1], x[..., 0], x[None].shape


@idiom
def boolean_mask_indexing(torch):
    x = torch.tensor(X)
    return x[x > 0], x[torch.tensor([True, False, True, False])]


@idiom
def integer_tensor_indexing(torch):
    x = torch.tensor(X)
    return x[torch.tensor([2, 0, 2])], x[torch.arange(4), torch.tensor([0, 1, 2, 3])]


@idiom
def setitem_forms(torch):
    x = torch.tensor(X)
    x[0] = 0.0
    x[:, 1] = torch.ones(4)
    x[x > 1] = 1.0
    return x


@idiom
def iterate_over_rows(torch):
    return [row.sum().item() for row in torch.tensor(M)]


@idiom
def nonzero_and_count(torch):
    x = torch.tensor(V)
    return (x > 0).nonzero(), (x > 0).sum(), torch.count_nonzero(x > 0)


@idiom
def bool_of_single_element(torch):
    return bool(torch.tensor(2.0) > 1), float(torch.tensor(2.5)), int(torch.tensor(7))


@idiom
def dot_and_outer(torch):
    x = torch.tensor(V)
    return x.dot(x), torch.outer(x, x)


@idiom
def unique_sorted(torch):
    return torch.tensor([3, 1, 3, 2, 1]).unique()


@idiom
def one_hot_with_scatter(torch):
    labels = torch.tensor(LABELS)
    return torch.zeros(6, 4).scatter_(1, labels.unsqueeze(1), 1.0)


@idiom
def is_leaf_after_to(torch):
    x = torch.tensor(V, requires_grad=True)
    return x.float().is_leaf, x.double().is_leaf, x.double().requires_grad
