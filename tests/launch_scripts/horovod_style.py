"""A Horovod-style training script (after renaming horovod.torch to distgrad.horovod), and the
same training written with DistributedDataParallel, to compare parameters.

    python horovod_style.py {hvd,ddp} PASSES_PER_STEP {none,fp16} OUT.npy
"""
import os
import sys

import numpy

import distgrad
import distgrad.horovod as hvd
from distgrad import nn, optim
import distgrad.distributed as dist


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        return nn.functional.log_softmax(self.fc2(nn.functional.relu(self.fc1(x))), dim=1)


def batches(step, passes, rank, size):
    """The global batch of one micro-step, this rank's share of it."""
    rng = numpy.random.default_rng(100 * step + passes)
    x = rng.standard_normal((8 * size, 20)).astype(numpy.float32)
    y = rng.integers(0, 4, 8 * size)
    return distgrad.tensor(x[rank::size]), distgrad.tensor(y[rank::size])


def metric_average(val, name):
    tensor = distgrad.tensor(val)
    avg_tensor = hvd.allreduce(tensor, name=name)
    return avg_tensor.item()


def load_data_under_a_lock():
    """Horovod's idiom: build the data set under a file lock, one rank after the other."""
    from filelock import FileLock
    root = os.environ["DISTGRAD_DATA"]
    with FileLock(os.path.expanduser("~/.distgrad_horovod_test_lock")):
        return distgrad.data.datasets.FashionMNIST(root, train=False, download=False)


def main(mode, passes_per_step, compression, out):
    hvd.init()
    if "DISTGRAD_DATA" in os.environ and os.path.isdir(
            os.path.join(os.environ["DISTGRAD_DATA"], "fashion-mnist")):
        assert len(load_data_under_a_lock()) == 10000
    distgrad.manual_seed(hvd.rank())  # different on purpose: broadcast_parameters fixes it
    model = Net()
    lr_scaler = hvd.size() if passes_per_step == 1 else 1
    optimizer = optim.SGD(model.parameters(), lr=0.05 * lr_scaler, momentum=0.5)
    if mode == "hvd":
        hvd.broadcast_parameters(model.state_dict(), root_rank=0)
        hvd.broadcast_optimizer_state(optimizer, root_rank=0)
        optimizer = hvd.DistributedOptimizer(
            optimizer, named_parameters=model.named_parameters(),
            compression=hvd.Compression.fp16 if compression == "fp16" else hvd.Compression.none,
            backward_passes_per_step=passes_per_step)
        net = model
    else:
        net = dist.DistributedDataParallel(model)
        if compression == "fp16":
            net.register_comm_hook(None, dist.fp16_compress_hook)
    losses = []
    for step in range(4):
        optimizer.zero_grad()
        for k in range(passes_per_step):
            x, y = batches(step, k, hvd.rank(), hvd.size())
            last = k == passes_per_step - 1
            context = net.no_sync() if mode == "ddp" and not last else _nothing()
            with context:
                loss = nn.functional.nll_loss(net(x), y)
                loss.backward()
            losses.append(loss.item())
        optimizer.step()
    average = metric_average(float(numpy.mean(losses)), "avg_loss")
    if hvd.rank() == 0:
        params = numpy.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
        numpy.save(out, params)
        print(f"average loss {average:.6f}")


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])
