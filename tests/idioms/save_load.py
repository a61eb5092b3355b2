"""``torch.save``/``torch.load``: state dicts and checkpoints survive a round trip, pickle-free."""
import io
import os
import tempfile

from .inputs import X, Y, deterministic
from . import category

idiom = category("save and load")


def _round_trip(torch, obj, **load_kwargs):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "checkpoint.pt")
        torch.save(obj, path)
        return torch.load(path, **load_kwargs)


@idiom
def model_state_dict_round_trip(torch, nn):
    model = deterministic(torch, nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)))
    fresh = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    fresh.load_state_dict(_round_trip(torch, model.state_dict()))
    fresh.eval()
    return fresh(torch.tensor(X)), list(fresh.state_dict().keys())


@idiom
def loaded_values_are_tensors(torch, nn):
    loaded = _round_trip(torch, deterministic(torch, nn.Linear(5, 2)).state_dict())
    return loaded


@idiom
def checkpoint_dict_keeps_python_types(torch, nn, optim):
    model = deterministic(torch, nn.Linear(5, 2))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.tensor(X)).sum().backward()
    opt.step()
    ckpt = {"epoch": 3, "loss": 0.25, "name": "run-1", "history": [1.0, 0.5], "shape": (4, 2),
            "model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict()}
    loaded = _round_trip(torch, ckpt)
    return {key: value for key, value in loaded.items() if key != "optimizer_state_dict"}


@idiom
def optimizer_state_round_trip_resumes(torch, nn, optim):
    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((model(torch.tensor(X)) - torch.tensor(Y)) ** 2).mean().backward()
            opt.step()

    model = deterministic(torch, nn.Linear(5, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)
    train(model, opt, 2)
    ckpt = _round_trip(torch, {"model": model.state_dict(), "optimizer": opt.state_dict()})
    resumed = nn.Linear(5, 3)
    resumed.load_state_dict(ckpt["model"])
    resumed_opt = optim.Adam(resumed.parameters(), lr=0.01)
    resumed_opt.load_state_dict(ckpt["optimizer"])
    train(model, opt, 2)
    train(resumed, resumed_opt, 2)
    return resumed.weight, model.weight


@idiom
def scheduler_state_round_trip(torch, optim):
    opt = optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        opt.step()
        sched.step()
    state = _round_trip(torch, sched.state_dict())
    opt2 = optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    sched2 = optim.lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5)
    sched2.load_state_dict(state)
    return state["last_epoch"], sched2.last_epoch, sched2.get_last_lr()


@idiom
def save_and_load_a_tensor(torch):
    return _round_trip(torch, torch.tensor(X)), _round_trip(torch, torch.arange(4))


@idiom
def load_map_location_and_weights_only(torch):
    t = torch.tensor(X)
    return (_round_trip(torch, t, map_location="cpu"),
            _round_trip(torch, {"t": t}, map_location=torch.device("cpu"), weights_only=True))


@idiom
def save_to_file_object(torch):
    buffer = io.BytesIO()
    torch.save({"w": torch.tensor(Y), "step": 7}, buffer)
    buffer.seek(0)
    return torch.load(buffer)


@idiom
def nested_containers(torch):
    obj = {"a": [torch.ones(2), (torch.zeros(1), 5)], "b": {"c": torch.tensor([1, 2]), "d": None}}
    return _round_trip(torch, obj)


class Settings:
    """A user's own class: only ``weights_only=False`` may unpickle it."""
    depth = 3


@idiom
def arbitrary_object_needs_weights_only_false(torch):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "settings.pt")
        torch.save({"settings": Settings(), "t": torch.ones(1)}, path)
        return torch.load(path, weights_only=False)["settings"].depth
