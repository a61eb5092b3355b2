"""Mistakes users make, and the exception class PyTorch answers them with."""
import os
import tempfile

from .inputs import IMAGES, LABELS, LOGITS, V, X
from .save_load import Settings
from . import category

idiom = category("errors")


@idiom(raises=True)
def matmul_shape_mismatch(torch):
    torch.tensor(X) @ torch.tensor(X)


@idiom(raises=True)
def linear_wrong_in_features(torch, nn):
    nn.Linear(4, 2)(torch.tensor(X))


@idiom(raises=True)
def conv2d_wrong_channels(torch, nn):
    nn.Conv2d(1, 2, 3)(torch.tensor(IMAGES))


@idiom(raises=True)
def view_wrong_size(torch):
    torch.tensor(X).view(-1, 7)


@idiom(raises=True)
def broadcast_mismatch(torch):
    torch.zeros(2, 3) + torch.zeros(4)


@idiom(raises=True)
def cat_shape_mismatch(torch):
    torch.cat([torch.zeros(2, 3), torch.zeros(2, 4)])


@idiom(raises=True)
def index_out_of_range(torch):
    torch.tensor(V)[10]


@idiom(raises=True)
def dim_out_of_range(torch):
    torch.tensor(X).max(dim=2)


@idiom(raises=True)
def sum_dim_out_of_range(torch):
    torch.tensor(X).sum(dim=3)


@idiom(raises=True)
def softmax_dim_out_of_range(torch, F):
    F.softmax(torch.tensor(X), dim=2)


@idiom(raises=True)
def in_place_on_leaf_requiring_grad(torch):
    torch.tensor(V, requires_grad=True).add_(1)


@idiom(raises=True)
def backward_twice(torch):
    x = torch.tensor(V, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


@idiom(raises=True)
def backward_of_non_scalar(torch):
    (torch.tensor(V, requires_grad=True) * 2).backward()


@idiom(raises=True)
def backward_without_grad(torch):
    torch.tensor(V).sum().backward()


@idiom(raises=True)
def numpy_of_tensor_requiring_grad(torch):
    torch.tensor(V, requires_grad=True).numpy()


@idiom(raises=True)
def item_of_many_elements(torch):
    torch.tensor(V).item()


@idiom(raises=True)
def integer_tensor_requires_grad(torch):
    torch.tensor([1, 2], requires_grad=True)


@idiom(raises=True)
def ragged_nested_list(torch):
    torch.tensor([[1.0, 2.0], [3.0]])


@idiom(raises=True)
def cross_entropy_target_out_of_range(torch, F):
    F.cross_entropy(torch.tensor(LOGITS), torch.tensor(LABELS) + 2)


@idiom(raises=True)
def unknown_reduction(torch, F):
    F.mse_loss(torch.tensor(X), torch.tensor(X), reduction="avg")


@idiom(raises=True)
def load_state_dict_missing_key(torch, nn):
    nn.Linear(5, 2).load_state_dict({"weight": torch.zeros(2, 5)})


@idiom(raises=True)
def load_state_dict_wrong_shape(torch, nn):
    nn.Linear(5, 2).load_state_dict({"weight": torch.zeros(3, 5), "bias": torch.zeros(2)})


@idiom(raises=True)
def optimizer_with_no_parameters(torch, optim):
    optim.SGD([], lr=0.1)


@idiom(raises=True)
def negative_learning_rate(torch, nn, optim):
    optim.SGD(nn.Linear(2, 2).parameters(), lr=-0.1)


@idiom(raises=True)
def invalid_adam_betas(torch, nn, optim):
    optim.Adam(nn.Linear(2, 2).parameters(), betas=(1.5, 0.999))


@idiom(raises=True)
def dropout_probability_above_one(torch, nn):
    nn.Dropout(p=1.5)


@idiom(raises=True)
def data_loader_zero_batch_size(torch, data):
    data.DataLoader(range(10), batch_size=0)


@idiom(raises=True)
def random_split_lengths_mismatch(torch, data):
    data.random_split(range(10), [3, 3])


@idiom(raises=True)
def missing_module_attribute(torch, nn):
    nn.Linear(2, 2).no_such_layer


@idiom(raises=True)
def unknown_device_string(torch):
    torch.device("gpu")


@idiom(raises=True)
def load_missing_file(torch):
    torch.load(os.path.join(tempfile.gettempdir(), "no-such-checkpoint.pt"))


@idiom(raises=True)
def weights_only_load_refuses_objects(torch):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "settings.pt")
        torch.save({"settings": Settings()}, path)
        torch.load(path)


@idiom(raises=True)
def float_target_for_nll_loss(torch, F):
    F.nll_loss(torch.tensor(LOGITS), torch.tensor(LABELS).float())


@idiom(raises=True)
def reshape_wrong_size(torch):
    torch.tensor(X).reshape(3, 3)


@idiom(raises=True)
def zero_grad_of_unknown_argument(torch, nn):
    nn.Linear(2, 2).zero_grad(set_to_zero=True)
