"""``.data`` and ``.grad`` are Tensors: the manual-update and gradient-inspection idioms."""
from .inputs import V, X, deterministic
from . import category

idiom = category(".data and .grad")


@idiom
def grad_is_a_tensor(torch):
    x = torch.tensor(V, requires_grad=True)
    (x * x).sum().backward()
    return x.grad


@idiom
def grad_is_none_before_backward(torch):
    x = torch.tensor(V, requires_grad=True)
    return x.grad is None


@idiom
def grad_zero_(torch):
    x = torch.tensor(V, requires_grad=True)
    (x * x).sum().backward()
    x.grad.zero_()
    return x.grad


@idiom
def grad_data_zero_(torch):
    x = torch.tensor(V, requires_grad=True)
    (x * 3).sum().backward()
    x.grad.data.zero_()
    return x.grad


@idiom
def grad_data_norm(torch):
    x = torch.tensor(V, requires_grad=True)
    (x * x).sum().backward()
    return x.grad.data.norm(2)


@idiom
def grad_norm_item(torch):
    x = torch.tensor(V, requires_grad=True)
    (x ** 3).sum().backward()
    return x.grad.norm().item()


@idiom
def gradients_accumulate(torch):
    x = torch.tensor(V, requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    return x.grad


@idiom
def manual_sgd_step_on_data(torch):
    w = torch.tensor(V, requires_grad=True)
    (w ** 2).sum().backward()
    with torch.no_grad():
        w.data.add_(w.grad, alpha=-0.1)
    return w


@idiom
def manual_sgd_step_in_place(torch):
    w = torch.tensor(V, requires_grad=True)
    (w ** 2).sum().backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
        w.grad.zero_()
    return w, w.grad


@idiom
def manual_sgd_over_parameters(torch, nn):
    model = deterministic(torch, nn.Linear(5, 3))
    (model(torch.tensor(X)) ** 2).mean().backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.5 * p.grad
    return model.weight, model.bias


@idiom
def data_update_without_no_grad(torch):
    w = torch.tensor(V, requires_grad=True)
    (w * w).sum().backward()
    w.data.sub_(0.1 * w.grad.data)
    return w


@idiom
def data_is_detached(torch):
    w = torch.tensor(V, requires_grad=True)
    return w.data.requires_grad, w.data


@idiom
def data_shares_memory(torch):
    w = torch.tensor(V, requires_grad=True)
    w.data.mul_(2)
    return w


@idiom
def data_assignment_replaces_values(torch):
    w = torch.tensor(V, requires_grad=True)
    w.data = torch.ones(5)
    return w


@idiom
def detach_shares_memory(torch):
    w = torch.tensor(V, requires_grad=True)
    w.detach().zero_()
    return w


@idiom
def grad_clone_survives_zero(torch):
    x = torch.tensor(V, requires_grad=True)
    (x * x).sum().backward()
    saved = x.grad.clone()
    x.grad.zero_()
    return saved


@idiom
def requires_grad_and_is_leaf(torch):
    x = torch.tensor(V, requires_grad=True)
    y = x * 2
    return y.requires_grad, y.is_leaf, x.is_leaf, x.grad_fn is None, y.grad_fn is not None


@idiom
def retain_grad_on_intermediate(torch):
    x = torch.tensor(V, requires_grad=True)
    y = x * 2
    y.retain_grad()
    (y * y).sum().backward()
    return y.grad, x.grad


@idiom
def backward_with_gradient_argument(torch):
    x = torch.tensor(V, requires_grad=True)
    y = x * x
    y.backward(torch.ones_like(y))
    return x.grad


@idiom
def backward_retain_graph_twice(torch):
    x = torch.tensor(V, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    return x.grad


@idiom
def autograd_grad(torch):
    x = torch.tensor(V, requires_grad=True)
    (g,) = torch.autograd.grad((x ** 3).sum(), x)
    return g, x.grad is None


@idiom
def register_hook_scales_grad(torch):
    x = torch.tensor(V, requires_grad=True)
    x.register_hook(lambda g: g * 2)
    x.sum().backward()
    return x.grad


@idiom
def requires_grad_in_place(torch):
    x = torch.zeros(3).requires_grad_()
    (x + 1).sum().backward()
    return x.requires_grad, x.grad


@idiom
def detach_numpy(torch):
    x = torch.tensor(V, requires_grad=True)
    return (x * 2).detach().numpy()


@idiom
def detach_cpu_numpy_tolist(torch):
    x = torch.tensor(V, requires_grad=True)
    return (x * 2).detach().cpu().numpy().tolist()


@idiom
def grad_of_int_index_sum(torch):
    x = torch.tensor(X, requires_grad=True)
    x[1:3, ::2].sum().backward()
    return x.grad


@idiom
def parameter_grads_after_backward(torch, nn):
    model = deterministic(torch, nn.Linear(5, 3))
    model(torch.tensor(X)).sum().backward()
    return [p.grad for p in model.parameters()]


@idiom
def grad_norm_over_parameters(torch, nn):
    model = deterministic(torch, nn.Linear(5, 3))
    (model(torch.tensor(X)) ** 2).sum().backward()
    total = 0.0
    for p in model.parameters():
        if p.grad is not None:
            total += p.grad.data.norm(2).item() ** 2
    return total ** 0.5
