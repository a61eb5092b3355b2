"""DistributedDataParallel at world size 1 (``gloo``, as the tutorials start): forward, backward
and the helpers around it behave as the wrapped model does."""
from .inputs import X, Y, deterministic
from . import category

idiom = category("distributed")


@idiom
def process_group_rank_and_size(dist):
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        return dist.is_initialized(), dist.get_rank(), dist.get_world_size()
    finally:
        dist.destroy_process_group()


@idiom
def ddp_gradients_match_the_model(torch, nn, dist, DDP):
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        model = DDP(deterministic(torch, nn.Linear(5, 3)))
        loss = ((model(torch.tensor(X)) - torch.tensor(Y)) ** 2).mean()
        loss.backward()
        return loss, model.module.weight.grad, model.module.bias.grad
    finally:
        dist.destroy_process_group()


@idiom
def ddp_training_step(torch, nn, optim, dist, DDP):
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        ddp_model = DDP(deterministic(torch, nn.Linear(5, 3)))
        optimizer = optim.SGD(ddp_model.parameters(), lr=0.1)
        for _ in range(3):
            optimizer.zero_grad()
            nn.MSELoss()(ddp_model(torch.tensor(X)), torch.tensor(Y)).backward()
            optimizer.step()
        return ddp_model.module.weight
    finally:
        dist.destroy_process_group()


@idiom
def ddp_state_dict_has_module_prefix(torch, nn, dist, DDP):
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        ddp_model = DDP(nn.Linear(5, 3))
        return list(ddp_model.state_dict().keys()), list(ddp_model.module.state_dict().keys())
    finally:
        dist.destroy_process_group()


@idiom
def ddp_no_sync_accumulates(torch, nn, dist, DDP):
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        model = DDP(deterministic(torch, nn.Linear(5, 3)))
        with model.no_sync():
            model(torch.tensor(X)).sum().backward()
        model(torch.tensor(X)).sum().backward()
        return model.module.weight.grad
    finally:
        dist.destroy_process_group()


@idiom
def all_reduce_at_world_size_one(torch, dist):
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        t = torch.tensor(X)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t
    finally:
        dist.destroy_process_group()


@idiom
def sampler_uses_process_group(torch, data, dist):
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        sampler = data.DistributedSampler(range(10), shuffle=False)
        return list(sampler), sampler.num_replicas, sampler.rank
    finally:
        dist.destroy_process_group()
