"""``distgrad train``: the training loop behind the command line.

Every rank runs this; rank 0 prints, writes metrics and checkpoints. Test accuracy counts each
test sample exactly once across ranks, so it equals one-process accuracy.

Reliability: every output is checked before the first step; a NaN/inf gradient on any rank is
seen by all ranks in the same step through DDP's control values (no extra collective) and stops
the run or skips the step; SIGTERM/SIGINT/SIGUSR1 finish the step, write a checkpoint and exit
75; ``--resume`` falls back past checkpoints that fail verification.
"""
import contextlib
import os
import sys
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
from .metrics import MetricsWriter, plot_metrics, read_metrics, require_matplotlib
from .preemption import StopSignals, signal_name
from .progress import Progress
from .recipes import EXIT_NONFINITE, EXIT_OK, EXIT_PREEMPTED, apply_recipe
from .tensorboard import TensorBoardWriter, require_tensorboardx

F = nn.functional


class UsageError(ValueError):
    """Settings that cannot work together (reported without a traceback)."""


USER_ERRORS = (UsageError, DatasetNotFoundError, DownloadError, ChecksumError, IDXError,
               checkpoint.CheckpointError)

# Settings a checkpoint records. Those in FIXED must match to resume (the run would otherwise
# not be the one checkpointed); those in TUNABLE may change, with a warning.
FIXED = ("model", "dataset", "world_size", "batch_size", "seed", "optimizer", "accumulate",
         "train_samples")
TUNABLE = ("lr", "epochs", "lr_schedule", "warmup_steps", "lr_step_epochs", "lr_gamma",
           "weight_decay", "momentum", "grad_clip")


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
    """The settings a checkpoint records (see FIXED and TUNABLE)."""
    meta = {k: getattr(args, k) for k in FIXED + TUNABLE if k != "world_size"}
    meta["world_size"] = world_size
    return meta


def _check_output_file(flag, path):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"{flag} {path}: the folder {folder} does not exist; create it or "
                         "choose another path")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"{flag} {path}: the folder {folder} is not writable")


def _check_writable_dir(flag, path):
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, f".distgrad-write-test-{os.getpid()}")
        write_atomic(probe, lambda f: f.write(b"ok"))
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"{flag} {path} is not writable ({exc.strerror or exc})") from None


def check_outputs(args):
    """Fail before any work when an output cannot be written (rank 0, which writes them)."""
    if args.checkpoint_dir:
        if args.resume and not os.path.isdir(args.checkpoint_dir):
            raise UsageError(f"--resume: the checkpoint directory {args.checkpoint_dir} does not "
                             "exist (mistyped?); check the path, or leave out --resume to start "
                             "a new run")
        _check_writable_dir("--checkpoint-dir", args.checkpoint_dir)
    if args.tensorboard:
        try:
            require_tensorboardx()
        except RuntimeError as exc:
            raise UsageError(str(exc)) from None
        _check_writable_dir("--tensorboard", args.tensorboard)
    if args.plot:
        try:
            require_matplotlib()
        except RuntimeError as exc:
            raise UsageError(str(exc)) from None
    for flag, path in (("--metrics", args.metrics), ("--plot", args.plot),
                       ("--timeline", args.timeline), ("--save-model", args.save_model)):
        if path:
            _check_output_file(flag, path)


def _restore(args, model, opt, loader, rank, world_size, say, warn):
    """Load the newest valid checkpoint; returns ``(step, scheduler state or None)``: None
    when a tunable setting changed and the schedule must be rebuilt for the new settings."""
    found, skipped = checkpoint.latest_valid(args.checkpoint_dir)
    for path, why in skipped:
        warn(f"--resume: skipped {path}: {why}")
    if found is None:
        if skipped:
            raise checkpoint.CheckpointError(
                f"--resume: none of the {len(skipped)} checkpoint(s) in {args.checkpoint_dir} "
                "can be used (reasons above); delete them to start over, or use a new "
                "--checkpoint-dir")
        say(f"--resume: no checkpoint in {args.checkpoint_dir} yet: starting from step 0")
        return 0, None, False
    step, state, meta = found
    diffs = checkpoint.differences(meta, _run_meta(args, world_size))
    fixed = [d for d in diffs if d[0] in FIXED]
    if fixed:
        allowed = [f"{k} {a!r} -> {b!r}" for k, a, b in diffs if k not in FIXED]
        try:
            checkpoint.check_compatible({k: a for k, a, _ in fixed}, {k: b for k, _, b in fixed})
        except checkpoint.CheckpointError as exc:
            if not allowed:
                raise
            raise checkpoint.CheckpointError(f"{exc} (also changed, which resuming would "
                                             f"allow: {'; '.join(allowed)})") from None
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    loader.load_state_dict(state["loader"])
    backend.set_rng_state(state["rng"][rank])
    if skipped:
        warn(f"--resume: resuming from an older checkpoint, step {step}")
    say(f"resumed from step {step} (epoch {state['epoch']})")
    if diffs:
        warn("--resume: settings changed since the checkpoint, applied from this step on: " +
             "; ".join(f"{k} {a!r} -> {b!r}" for k, a, b in diffs) +
             " (the learning-rate schedule is rebuilt for the new settings and continued "
             f"from step {step})")
        for group in opt.param_groups:
            group["lr"] = group["initial_lr"] = args.lr
            group["weight_decay"] = args.weight_decay
            if "momentum" in group:
                group["momentum"] = args.momentum
        return step, None, True
    return step, state["scheduler"], True


def _first_nonfinite(model):
    """Name of the first parameter whose averaged gradient (the same on every rank) holds
    NaN/inf, and whether the parameter itself does; ``(None, False)`` when only a rank's loss
    was non-finite."""
    for name, p in model.named_parameters():
        if p.grad is not None and not numpy.isfinite(backend.to_numpy(p.grad.array)).all():
            return name, not numpy.isfinite(backend.to_numpy(p.array)).all()
    for name, p in model.named_parameters():
        if not numpy.isfinite(backend.to_numpy(p.array)).all():
            return name, True
    return None, False    # only a loss was non-finite


def run(args):
    """Train according to ``args`` (see ``distgrad train --help``); returns an exit code."""
    apply_recipe(args)
    if args.device == "cuda" and backend.cuda_device_count() == 0:
        raise UsageError("--device cuda: no GPU is visible (is CuPy installed, e.g. "
                         "pip install 'distgrad[cuda12]', and CUDA_VISIBLE_DEVICES set?)")
    if args.resume and not args.checkpoint_dir:
        raise UsageError("--resume needs --checkpoint-dir")
    with StopSignals() as stops:
        # The group binds this rank to cuda:<local_rank % device_count> (made current before
        # any CUDA work) and, on GPUs, picks NCCL where it loads.
        dist.init_process_group("auto", timeout=args.watchdog_timeout, device=args.device)
        return _train(args, stops)


def _train(args, stops):
    rank, world_size = dist.get_rank(), dist.get_world_size()
    say = (lambda msg: print(msg, flush=True)) if rank == 0 else (lambda msg: None)
    warn = ((lambda msg: print(f"warning: {msg}", file=sys.stderr, flush=True)) if rank == 0
            else (lambda msg: None))
    device = dist.get_device()
    if rank == 0:
        check_outputs(args)
        if args.checkpoint_dir:
            removed = checkpoint.clean(args.checkpoint_dir)
            if removed:
                say(f"removed {len(removed)} file(s) left by interrupted checkpoint writes in "
                    f"{args.checkpoint_dir}: {', '.join(removed)}")

    train_set, test_set = cli_data.load(args.dataset, args.data_dir, args.train_samples,
                                        args.test_samples, args.seed, args.download)
    backend.manual_seed(args.seed)  # identical initial weights on every rank
    model = models.build(args.model).to(device)
    timeline = dist.Timeline(args.timeline) if args.timeline else None
    guard = args.on_nonfinite != "off"
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=args.bucket_cap_mb, timeline=timeline,
                                       check_finite="skip" if guard else False)
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

    # The scheduler exists before the optimiser state is loaded: building one sets the lr.
    sched = _scheduler(args, opt, steps_per_epoch)
    step, resumed, last_checkpoint = 0, False, None
    if args.resume:
        step, sched_state, resumed = _restore(args, model, opt, loader, rank, world_size, say, warn)
        if sched_state is not None:
            sched.load_state_dict(sched_state)
        elif resumed:
            sched = _scheduler(args, opt, steps_per_epoch)
            for _ in range(step):   # the new schedule, continued from the checkpoint's step
                sched.step()
        if resumed:
            last_checkpoint = os.path.join(args.checkpoint_dir, f"checkpoint-{step:09d}.json")
    # A checkpoint taken at an epoch's last step but before its evaluation repeats that
    # evaluation: its epoch record, if a killed run wrote it, is dropped as well.
    metrics = MetricsWriter(args.metrics, enabled=rank == 0,
                            resume_step=step if resumed else None, say=say,
                            repeat_epoch=loader.state_dict()["batches_yielded"] >= steps_per_epoch)
    board = TensorBoardWriter(args.tensorboard, enabled=rank == 0,
                              purge_step=step if resumed else None)
    metrics.write(kind="run", model=args.model, dataset=args.dataset, world_size=world_size,
                  batch_size=args.batch_size, lr=args.lr, lr_schedule=args.lr_schedule,
                  epochs=args.epochs, resumed_from=step if resumed else None)
    say(f"training {args.model} on {args.dataset} ({len(train_set)} train / {len(test_set)} test "
        f"samples) with {world_size} rank(s) on {device}, batch {args.batch_size}/rank, "
        f"{steps_per_epoch} steps/epoch, {args.optimizer} lr {args.lr} ({args.lr_schedule}, "
        f"{args.warmup_steps} warm-up steps)")

    def save(epoch, unless_saved=False):
        nonlocal last_checkpoint
        if unless_saved and (last_checkpoint or "").endswith(f"checkpoint-{step:09d}.json"):
            return
        if args.checkpoint_dir:
            last_checkpoint = _save(args, model, opt, sched, loader, step, epoch, rank, world_size)

    micro = args.batch_size
    host_loss = device == "cpu"
    test_loss = accuracy = 0.0
    loss_value = float("nan")
    total_time = total_samples = 0.0
    skipped_in_a_row = 0
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
                    # A non-finite loss nearly always makes its gradients non-finite; the
                    # exception (logits near float32's limit) is caught here, on the CPU
                    # where reading the loss costs nothing (on a GPU it would wait).
                    if guard and host_loss and not numpy.isfinite(loss.array).all():
                        ddp.reducer.mark_nonfinite()
                    loss.backward()
                loss_sum = loss_sum + loss.array  # stays on the device: no sync per step
            if guard and not ddp.last_step_finite:
                # Every rank sees the same flag (it travelled with the gradients), so every
                # rank takes this branch in this step.
                name, param_bad = _first_nonfinite(model)
                opt.zero_grad()
                skipped_in_a_row += 1
                what = (f"non-finite gradient (NaN or inf) in step {step + 1} (epoch {epoch + 1}),"
                        f" first in parameter {name!r}"
                        + (" (the parameter itself is non-finite)" if param_bad else "")
                        if name else f"non-finite loss in step {step + 1} (epoch {epoch + 1}) "
                        "on at least one rank, with finite gradients")
                if args.on_nonfinite == "stop" or skipped_in_a_row >= args.max_skips:
                    why = ("--on-nonfinite stop" if args.on_nonfinite == "stop" else
                           f"{skipped_in_a_row} non-finite steps in a row, --max-skips "
                           f"{args.max_skips}")
                    good = (f"last good checkpoint: {last_checkpoint}" if last_checkpoint else
                            "no checkpoint was written" + ("" if args.checkpoint_dir else
                                                           " (no --checkpoint-dir)"))
                    metrics.write(kind="stop", step=step, reason="nonfinite", parameter=name)
                    metrics.close()
                    board.close()
                    if rank == 0:
                        hint = ("" if args.on_nonfinite == "skip" else
                                ", or pass --on-nonfinite skip to skip such steps")
                        print(f"distgrad train: error: {what}; stopped ({why}) without applying "
                              f"it; {good}. Lower --lr or set --grad-clip{hint}",
                              file=sys.stderr, flush=True)
                    dist.destroy_process_group()
                    return EXIT_NONFINITE
                warn(f"{what}: step skipped ({skipped_in_a_row} in a row)")
            else:
                skipped_in_a_row = 0
                if args.grad_clip:
                    nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
                with timeline.span("optimizer") if timeline is not None else contextlib.nullcontext():
                    opt.step()
                opt.zero_grad()
            sched.step()
            step += 1
            epoch_samples += len(y) * world_size
            reading = step % args.log_every == 0 or i == steps_per_epoch
            if reading:
                loss_value = float(loss_sum)
                rate = epoch_samples / (time.perf_counter() - start)
                lr = sched.get_last_lr()[0]
                progress.update(i, loss_value, rate)
                metrics.write(kind="step", step=step, epoch=epoch + 1, loss=loss_value,
                              lr=lr, samples_per_s=rate)
                stats = ddp.stats
                board.scalars(step, "train", loss=loss_value, lr=lr, samples_per_s=rate)
                board.scalars(step, "comm", bytes_per_step=stats.bytes,
                              allreduce_seconds=stats.comm_seconds,
                              exposed_seconds=stats.exposed_seconds)
            if args.checkpoint_dir and args.checkpoint_every and step % args.checkpoint_every == 0:
                save(epoch)
            # Every rank stops after the same step, the one in progress when a signal came:
            # a 4-byte all-reduce per step (about 25 us with 2 ranks here).
            signum = stops.agreed(world_size)
            if signum:
                progress.close()
                return _preempted(args, signum, step, epoch if i < steps_per_epoch else epoch + 1,
                                  save, metrics, board, say, lambda: last_checkpoint)
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
        board.scalars(step, "test", loss=test_loss, accuracy=accuracy)
        save(epoch + 1)
    metrics.close()
    board.close()
    if timeline is not None:
        timeline.save()
        say(timeline.format_summary())
    throughput = total_samples / total_time if total_time else 0.0
    peak = "" if device == "cpu" else (
        f", peak GPU memory {cuda.max_memory_allocated() / 2**20:,.0f} MiB (rank 0)")
    say(f"done: {step} steps, test accuracy {100 * accuracy:.2f}%, test loss {test_loss:.4f}, "
        f"{throughput:,.0f} samples/s{peak}")
    # The model first: an optional output that fails afterwards cannot lose it.
    if args.save_model and rank == 0:
        _write_model(args.save_model, model)
    if args.plot and rank == 0:
        plot_metrics(read_metrics(args.metrics), args.plot)
    dist.destroy_process_group()
    return EXIT_OK


def _preempted(args, signum, step, epoch, save, metrics, board, say, last_checkpoint):
    """Every rank stops after the same step: checkpoint, say how to continue, exit 75."""
    save(epoch, unless_saved=True)
    metrics.write(kind="stop", step=step, reason=signal_name(signum))
    metrics.close()
    board.close()
    where = (f"checkpoint {last_checkpoint()}; continue with --resume" if args.checkpoint_dir
             else "no --checkpoint-dir, so nothing was saved")
    say(f"stopped by {signal_name(signum)} after step {step}: {where}")
    dist.destroy_process_group()
    return EXIT_PREEMPTED


def _save(args, model, opt, sched, loader, step, epoch, rank, world_size):
    """Rank 0 writes; every rank contributes its RNG state and waits, so no rank runs ahead
    of a checkpoint that might not exist yet. Returns the manifest's path."""
    rng = dist.all_gather_object(backend.get_rng_state())  # every rank's dropout stream
    if rank == 0:  # only the writer copies the model and optimiser state to the host
        state = {"model": model.state_dict(), "optimizer": opt.state_dict(),
                 "scheduler": sched.state_dict(), "loader": loader.state_dict(),
                 "step": step, "epoch": epoch, "rng": rng}
        checkpoint.save(args.checkpoint_dir, step, state, _run_meta(args, world_size),
                        keep=args.keep_checkpoints)
    dist.barrier()
    return os.path.join(args.checkpoint_dir, f"checkpoint-{step:09d}.json")


def _write_model(path, model):
    state = {k: backend.to_numpy(t.array) for k, t in model.state_dict().items()}
    write_atomic(path, lambda f: numpy.savez(f, **state))
