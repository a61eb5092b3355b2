"""Losses: modules and functional forms, with weights, ignore_index, label smoothing, soft
targets, reductions, the legacy ``size_average``/``reduce`` and the implicit-``dim`` warning."""
import warnings

from .inputs import BINARY, LABELS, LOGITS, PROBS, SCORES, X, Y
from . import category

idiom = category("losses")


def _loss_and_grad(torch, loss_fn, target):
    """``loss_fn(logits, target)`` and its gradient with respect to the logits."""
    logits = torch.tensor(LOGITS, requires_grad=True)
    loss = loss_fn(logits, target)
    loss.sum().backward()
    return loss, logits.grad


@idiom
def cross_entropy_module(torch, nn):
    return _loss_and_grad(torch, nn.CrossEntropyLoss(), torch.tensor(LABELS))


@idiom
def cross_entropy_reductions(torch, F):
    logits, target = torch.tensor(LOGITS), torch.tensor(LABELS)
    return (F.cross_entropy(logits, target, reduction="sum"),
            F.cross_entropy(logits, target, reduction="none"))


@idiom
def cross_entropy_class_weight(torch, nn):
    weight = torch.tensor([1.0, 2.0, 0.5, 1.5])
    return _loss_and_grad(torch, nn.CrossEntropyLoss(weight=weight), torch.tensor(LABELS))


@idiom
def cross_entropy_ignore_index(torch, F):
    target = torch.tensor([0, -100, 1, 1, -100, 0])
    return _loss_and_grad(torch, F.cross_entropy, target)


@idiom
def cross_entropy_custom_ignore_index(torch, nn):
    return _loss_and_grad(torch, nn.CrossEntropyLoss(ignore_index=1), torch.tensor(LABELS))


@idiom
def cross_entropy_label_smoothing(torch, nn):
    return _loss_and_grad(torch, nn.CrossEntropyLoss(label_smoothing=0.1), torch.tensor(LABELS))


@idiom
def cross_entropy_probability_targets(torch, F):
    return _loss_and_grad(torch, F.cross_entropy, torch.tensor(PROBS))


@idiom
def cross_entropy_weight_and_smoothing(torch, F):
    weight = torch.tensor([1.0, 2.0, 0.5, 1.5])

    def loss(logits, target):
        return F.cross_entropy(logits, target, weight=weight, label_smoothing=0.2, reduction="sum")
    return _loss_and_grad(torch, loss, torch.tensor(LABELS))


@idiom
def nll_loss_of_log_softmax(torch, F):
    return _loss_and_grad(torch, lambda x, t: F.nll_loss(F.log_softmax(x, dim=1), t),
                          torch.tensor(LABELS))


@idiom
def nll_loss_sum_for_test_loop(torch, F):
    output = F.log_softmax(torch.tensor(LOGITS), dim=1)
    test_loss = 0
    test_loss += F.nll_loss(output, torch.tensor(LABELS), reduction="sum").item()
    return test_loss


@idiom
def nll_loss_weight_and_ignore_index(torch, F, nn):
    log_probs = F.log_softmax(torch.tensor(LOGITS), dim=1)
    weight = torch.tensor([1.0, 2.0, 0.5, 1.5])
    return (F.nll_loss(log_probs, torch.tensor(LABELS), weight=weight),
            nn.NLLLoss(ignore_index=0)(log_probs, torch.tensor(LABELS)))


@idiom
def legacy_size_average_false(torch, F):
    output = F.log_softmax(torch.tensor(LOGITS), dim=1)
    return F.nll_loss(output, torch.tensor(LABELS), size_average=False)


@idiom
def legacy_reduce_false(torch, nn):
    return nn.MSELoss(reduce=False)(torch.tensor(X[:, :3]), torch.tensor(Y))


@idiom
def log_softmax_implicit_dim_warns(torch, F):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = F.log_softmax(torch.tensor(LOGITS))
    return out, [w.category.__name__ for w in caught]


@idiom
def softmax_implicit_dim_on_3d(torch, F):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = F.softmax(torch.tensor(X).view(1, 4, 5))
    return out, len(caught) > 0


@idiom
def mse_loss(torch, nn, F):
    x = torch.tensor(X[:, :3], requires_grad=True)
    loss = nn.MSELoss()(x, torch.tensor(Y))
    loss.backward()
    return loss, x.grad, F.mse_loss(x, torch.tensor(Y), reduction="sum")


@idiom
def l1_smooth_l1_huber(torch, nn):
    x, y = torch.tensor(X[:, :3]) * 2, torch.tensor(Y)
    return (nn.L1Loss()(x, y), nn.SmoothL1Loss()(x, y), nn.SmoothL1Loss(beta=0.5)(x, y),
            nn.HuberLoss()(x, y), nn.HuberLoss(delta=0.5, reduction="sum")(x, y))


@idiom
def functional_regression_losses(torch, F):
    x, y = torch.tensor(X[:, :3]) * 2, torch.tensor(Y)
    return F.l1_loss(x, y), F.smooth_l1_loss(x, y), F.huber_loss(x, y, delta=2.0)


@idiom
def smooth_l1_gradient(torch, nn):
    x = torch.tensor(X[:, :3] * 2, requires_grad=True)
    nn.SmoothL1Loss()(x, torch.tensor(Y)).backward()
    return x.grad


@idiom
def bce_loss_on_sigmoid(torch, nn):
    x = torch.tensor(SCORES, requires_grad=True)
    loss = nn.BCELoss()(torch.sigmoid(x), torch.tensor(BINARY))
    loss.backward()
    return loss, x.grad


@idiom
def bce_with_logits(torch, nn):
    x = torch.tensor(SCORES, requires_grad=True)
    loss = nn.BCEWithLogitsLoss()(x, torch.tensor(BINARY))
    loss.backward()
    return loss, x.grad


@idiom
def bce_with_logits_pos_weight(torch, nn):
    loss = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0, 2.0, 3.0, 0.5]))
    return loss(torch.tensor(SCORES), torch.tensor(BINARY))


@idiom
def functional_bce(torch, F):
    x, y = torch.tensor(SCORES), torch.tensor(BINARY)
    return (F.binary_cross_entropy(torch.sigmoid(x), y),
            F.binary_cross_entropy_with_logits(x, y, reduction="none"))


@idiom
def kl_div_batchmean(torch, nn, F):
    log_q = F.log_softmax(torch.tensor(LOGITS), dim=1)
    p = torch.tensor(PROBS)
    return (nn.KLDivLoss(reduction="batchmean")(log_q, p),
            nn.KLDivLoss(reduction="batchmean", log_target=True)(log_q, p.log()),
            F.kl_div(log_q, p, reduction="sum"))


@idiom
def loss_item_is_float(torch, nn):
    loss = nn.CrossEntropyLoss()(torch.tensor(LOGITS), torch.tensor(LABELS))
    return loss.item(), loss.shape, loss.dtype
