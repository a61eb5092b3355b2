"""``distgrad train``: the training loop behind the command line.

Every rank runs this; rank 0 prints, writes metrics and checkpoints. Test accuracy counts each
test sample exactly once across ranks, so it equals one-process accuracy.
"""
import contextlib
import time

import numpy

from .. import backend, cuda, models, nn, optim
from ..atomic import write_atomic
from .. import distributed as dist
from ..autograd import no_grad
from ..data import (ChecksumError, DataLoader, DatasetNotFoundError, DistributedEvalSampler,
                    DistributedSampler, DownloadError, IDXError)
from ..optim import lr_scheduler
from . import checkpoint
from . import data as cli_data
from .metrics import MetricsWriter, plot_metrics, read_metrics
from .progress import Progress

F = nn.functional


class UsageError(ValueError):
    """Settings that cannot work together (reported without a traceback)."""


USER_ERRORS = (UsageError, DatasetNotFoundError, DownloadError, ChecksumError, IDXError,
               checkpoint.CheckpointError)


def _optimizer(args, params):
    if args.optimizer == "sgd":
        return optim.SGD(params, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    return optim.Adam(params, lr=args.lr, weight_decay=args.weight_decay)


def _scheduler(args, opt, steps_per_epoch):
    """Per-step schedule: an optional linear warm-up followed by none/step/cosine."""
    total = max(1, args.epochs * steps_per_epoch)
    warm = min(args.warmup_steps, total - 1)
    if args.lr_schedule == "step":
        main = lr_scheduler.StepLR(opt, step_size=max(1, args.lr_step_epochs * steps_per_epoch),
                                   gamma=args.lr_gamma)
    elif args.lr_schedule == "cosine":
        main = lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, total - warm))
    else:
        main = lr_scheduler.StepLR(opt, step_size=total + 1, gamma=1.0)  # constant
    if warm <= 0:
        return main
    warmup = lr_scheduler.LinearLR(opt, start_factor=1.0 / (warm + 1), total_iters=warm)
    return lr_scheduler.SequentialLR(opt, [warmup, main], milestones=[warm])


def evaluate(model, loader):
    """Summed loss, correct count and sample count over this rank's shard, then all-reduced
    once (ranks may hold different numbers of test batches, so no per-batch collective)."""
    model.eval()
    totals = numpy.zeros(3)
    with no_grad():
        for x, y in loader:
            logits = model(x)
            totals[0] += float(F.cross_entropy(logits, y, reduction="sum").item())
            totals[1] += int((logits.argmax(dim=1) == y).sum())
            totals[2] += len(y)
    model.train()
    dist.all_reduce(totals)
    return totals[0] / max(totals[2], 1), totals[1] / max(totals[2], 1), int(totals[2])


def _run_meta(args, world_size):
    """Settings that must match for a checkpoint to be resumed bitwise."""
    return {"model": args.model, "dataset": args.dataset, "world_size": world_size,
            "batch_size": args.batch_size, "seed": args.seed, "optimizer": args.optimizer,
            "accumulate": args.accumulate, "train_samples": args.train_samples}


def _restore(args, model, opt, sched, loader, rank, world_size, say):
    found = checkpoint.latest(args.checkpoint_dir)
    if found is None:
        say(f"--resume: no checkpoint in {args.checkpoint_dir}; starting from scratch")
        return 0
    step, state, meta = found
    checkpoint.check_compatible(meta, _run_meta(args, world_size))
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    loader.load_state_dict(state["loader"])
    backend.set_rng_state(state["rng"][rank])
    say(f"resumed from step {step} (epoch {state['epoch']})")
    return step


def run(args):
    """Train according to ``args`` (see ``distgrad train --help``); returns an exit code."""
    if args.device == "cuda" and backend.cuda_device_count() == 0:
        raise UsageError("--device cuda: no GPU is visible (is CuPy installed, e.g. "
                         "pip install 'distgrad[cuda12]', and CUDA_VISIBLE_DEVICES set?)")
    # The group binds this rank to cuda:<local_rank % device_count> (made current before any
    # CUDA work) and, on GPUs, picks NCCL where it loads.
    dist.init_process_group("auto", timeout=args.watchdog_timeout, device=args.device)
    rank, world_size = dist.get_rank(), dist.get_world_size()
    say = (lambda msg: print(msg, flush=True)) if rank == 0 else (lambda msg: None)
    device = dist.get_device()

    train_set, test_set = cli_data.load(args.dataset, args.data_dir, args.train_samples,
                                        args.test_samples, args.seed, args.download)
    backend.manual_seed(args.seed)  # identical initial weights on every rank
    model = models.build(args.model).to(device)
    timeline = dist.Timeline(args.timeline) if args.timeline else None
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=args.bucket_cap_mb, timeline=timeline)
    # Dropout masks differ between ranks, as they would between the micro-batches they stand for.
    backend.manual_seed(args.seed * 1000 + 1 + rank)

    sampler = DistributedSampler(train_set, world_size, rank, shuffle=True, seed=args.seed, drop_last=True)
    loader = DataLoader(train_set, args.batch_size * args.accumulate, sampler=sampler,
                        drop_last=True, device=device, prefetch=True)
    test_loader = DataLoader(test_set, max(args.batch_size, 256),
                             sampler=DistributedEvalSampler(test_set, world_size, rank), device=device)
    steps_per_epoch = len(loader)
    if steps_per_epoch == 0:
        raise UsageError(f"--batch-size {args.batch_size} × --accumulate {args.accumulate} × "
                         f"{world_size} ranks is larger than the {len(train_set)} training "
                         "samples: no full step fits in an epoch")
    opt = _optimizer(args, model.parameters())
    sched = _scheduler(args, opt, steps_per_epoch)

    step = 0
    if args.resume:
        if not args.checkpoint_dir:
            raise UsageError("--resume needs --checkpoint-dir")
        step = _restore(args, model, opt, sched, loader, rank, world_size, say)
    metrics = MetricsWriter(args.metrics, enabled=rank == 0, append=bool(args.resume and step))
    say(f"training {args.model} on {args.dataset} ({len(train_set)} train / {len(test_set)} test "
        f"samples) with {world_size} rank(s) on {device}, batch {args.batch_size}/rank, "
        f"{steps_per_epoch} steps/epoch")

    micro = args.batch_size
    test_loss = accuracy = 0.0
    loss_value = float("nan")
    total_time = total_samples = 0.0
    for epoch in range(loader.epoch, args.epochs):
        progress = Progress(steps_per_epoch, epoch + 1, enabled=rank == 0 and args.progress)
        start, epoch_samples = time.perf_counter(), 0
        first = loader.state_dict()["batches_yielded"] + 1  # > 1 when resuming mid-epoch
        for i, (x, y) in enumerate(loader, start=first):
            loss_sum = 0
            for k in range(args.accumulate):
                # All but the last micro-batch only accumulate locally (no all-reduce).
                sync = k == args.accumulate - 1
                with contextlib.nullcontext() if sync else ddp.no_sync():
                    loss = F.cross_entropy(ddp(x[k * micro:(k + 1) * micro]),
                                           y[k * micro:(k + 1) * micro]) / args.accumulate
                    loss.backward()
                loss_sum = loss_sum + loss.array  # stays on the device: no sync per step
            if args.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
            with timeline.span("optimizer") if timeline is not None else contextlib.nullcontext():
                opt.step()
            opt.zero_grad()
            sched.step()
            step += 1
            epoch_samples += len(y) * world_size
            if step % args.log_every == 0 or i == steps_per_epoch:
                loss_value = float(loss_sum)
                rate = epoch_samples / (time.perf_counter() - start)
                progress.update(i, loss_value, rate)
                metrics.write(kind="step", step=step, epoch=epoch + 1, loss=loss_value,
                              lr=sched.get_last_lr()[0], samples_per_s=rate)
            if args.checkpoint_dir and args.checkpoint_every and step % args.checkpoint_every == 0:
                _save(args, model, opt, sched, loader, step, epoch, rank, world_size)
        progress.close()
        elapsed = time.perf_counter() - start
        total_time += elapsed
        total_samples += epoch_samples
        test_loss, accuracy, counted = evaluate(model, test_loader)
        rate = epoch_samples / elapsed if elapsed > 0 else 0.0
        say(f"epoch {epoch + 1}/{args.epochs}: train loss {loss_value:.4f}, test loss {test_loss:.4f}, "
            f"test accuracy {100 * accuracy:.2f}% ({counted} samples), {rate:,.0f} samples/s")
        metrics.write(kind="epoch", step=step, epoch=epoch + 1, test_loss=test_loss,
                      test_accuracy=accuracy, samples_per_s=rate, epoch_time_s=elapsed)
        if args.checkpoint_dir:
            _save(args, model, opt, sched, loader, step, epoch + 1, rank, world_size)
    metrics.close()
    if timeline is not None:
        timeline.save()
        say(timeline.format_summary())
    if args.plot and rank == 0:
        plot_metrics(read_metrics(args.metrics), args.plot)
    throughput = total_samples / total_time if total_time else 0.0
    peak = "" if device == "cpu" else (
        f", peak GPU memory {cuda.max_memory_allocated() / 2**20:,.0f} MiB (rank 0)")
    say(f"done: {step} steps, test accuracy {100 * accuracy:.2f}%, test loss {test_loss:.4f}, "
        f"{throughput:,.0f} samples/s{peak}")
    if args.save_model and rank == 0:
        _write_model(args.save_model, model)
    dist.destroy_process_group()
    return 0


def _save(args, model, opt, sched, loader, step, epoch, rank, world_size):
    """Rank 0 writes; every rank contributes its RNG state and waits, so no rank runs ahead
    of a checkpoint that might not exist yet."""
    rng = dist.all_gather_object(backend.get_rng_state())  # every rank's dropout stream
    if rank == 0:  # only the writer copies the model and optimiser state to the host
        state = {"model": model.state_dict(), "optimizer": opt.state_dict(),
                 "scheduler": sched.state_dict(), "loader": loader.state_dict(),
                 "step": step, "epoch": epoch, "rng": rng}
        checkpoint.save(args.checkpoint_dir, step, state, _run_meta(args, world_size),
                        keep=args.keep_checkpoints)
    dist.barrier()


def _write_model(path, model):
    state = {k: backend.to_numpy(t.array) for k, t in model.state_dict().items()}
    write_atomic(path, lambda f: numpy.savez(f, **state))
