"""Dtype aliases, device objects and the guard lines at the top of every script."""
from .inputs import V, X
from . import category

idiom = category("dtypes, devices, guard lines")


@idiom
def dtype_aliases(torch):
    return torch.float, torch.double, torch.half, torch.long, torch.int, torch.bool


@idiom
def sized_dtype_names(torch):
    return torch.float32, torch.float64, torch.float16, torch.int64, torch.int32, torch.uint8


@idiom
def dtype_compares_with_alias(torch):
    x = torch.tensor(X)
    return x.dtype == torch.float32, x.dtype == torch.float, x.dtype == torch.float64


@idiom
def tensor_with_dtype_alias(torch):
    return torch.tensor([1, 2], dtype=torch.long), torch.tensor([1, 2], dtype=torch.float)


@idiom
def dtype_is_floating_point(torch):
    return torch.float32.is_floating_point, torch.int64.is_floating_point


@idiom
def is_floating_point(torch):
    return torch.is_floating_point(torch.tensor(X)), torch.tensor([1]).is_floating_point()


@idiom
def default_dtype(torch):
    return torch.get_default_dtype()


@idiom
def set_default_dtype_float64(torch):
    torch.set_default_dtype(torch.float64)
    try:
        return torch.tensor([1.0]).dtype, torch.zeros(2).dtype, torch.get_default_dtype()
    finally:
        torch.set_default_dtype(torch.float32)


@idiom
def finfo_eps(torch):
    return torch.finfo(torch.float32).eps, torch.finfo(torch.float64).tiny


@idiom
def device_from_string(torch):
    d = torch.device("cpu")
    return d, d.type, d.index, str(d)


@idiom
def device_with_index(torch):
    d = torch.device("cuda", 1)
    return d.type, d.index, str(d), torch.device("cuda:0").index


@idiom
def device_choice_line(torch):
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@idiom
def accelerator_choice_line(torch):
    use_accel = torch.accelerator.is_available()
    device = torch.accelerator.current_accelerator() if use_accel else torch.device("cpu")
    return use_accel, device


@idiom
def tensor_device_type(torch):
    x = torch.tensor(X)
    return x.device, x.device.type, x.is_cuda, x.device == torch.device("cpu")


@idiom
def to_device_keeps_values(torch):
    device = torch.device("cpu")
    return torch.tensor(V).to(device), torch.tensor(V).to("cpu"), torch.tensor(V).cpu()


@idiom
def create_on_device(torch):
    return torch.zeros(2, device=torch.device("cpu")), torch.ones(2, device="cpu").device


@idiom
def model_to_device(torch, nn):
    model = nn.Linear(2, 2).to(torch.device("cpu"))
    return model.weight.device


@idiom
def cuda_guards(torch):
    return torch.cuda.is_available(), torch.cuda.device_count()


@idiom
def cuda_seeding_is_harmless(torch):
    torch.manual_seed(0)
    torch.cuda.manual_seed(0)
    torch.cuda.manual_seed_all(0)
    return None


@idiom
def mps_guard(torch):
    return torch.backends.mps.is_available()


@idiom
def cudnn_flags(torch):
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    return torch.backends.cudnn.deterministic


@idiom
def type_conversion_by_dtype(torch):
    x = torch.tensor(V)
    return x.to(torch.float64).dtype, x.type(torch.int64), x.to(torch.float16).dtype
