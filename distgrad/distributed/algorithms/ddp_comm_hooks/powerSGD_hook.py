"""PowerSGD (Vogels et al., 2019): each gradient matrix M (n x m) travels as two thin factors,
P = M Q (n x r) and Q = M^T P (m x r), so a bucket costs (n + m) r values instead of n m.

One power iteration per step, warm-started from the last step's Q, and error feedback: what
the approximation dropped is added to the next step's gradient, so nothing is lost for good.
Per bucket: one all-reduce of the tensors not worth compressing (vectors, small matrices,
and distgrad's control values after the gradients) together with all P factors, then one of
all Q factors; each rank then holds the same average approximation P Q^T. PyTorch's names,
arguments and defaults (``torch.distributed.algorithms.ddp_comm_hooks.powerSGD_hook``).
"""
import math

import numpy

from ....backend import get_array_module
from ...comm_hooks import allreduce_hook


class PowerSGDState:
    """PowerSGD's settings and the per-bucket memory (error, P and Q factors) across steps.

    Args:
        process_group: the communicator (None: the DDP's own).
        matrix_approximation_rank: r, the rank of the approximation (1 compresses most).
        start_powerSGD_iter: plain all-reduce before this step (lets early training, which is
            sensitive to inexact gradients, settle first); at least 2 with error feedback or
            warm start.
        min_compression_rate: compress a matrix only when n m > (n + m) r times this.
        use_error_feedback: carry what the approximation dropped into the next step.
        warm_start: start each step's power iteration from the last step's Q.
        orthogonalization_epsilon: added to column norms in Gram-Schmidt (guards all-zero
            columns).
        random_seed: seeds the initial Q (the same on every rank, so the factors agree).
        compression_stats_logging_frequency, batch_tensors_with_same_shape: accepted as in
            PyTorch (statistics are kept in ``compression_stats()``; tensors are compressed one
            by one).

    >>> state = PowerSGDState(None, matrix_approximation_rank=2, start_powerSGD_iter=10)
    >>> state.iter
    0
    """

    def __init__(self, process_group, matrix_approximation_rank=1, start_powerSGD_iter=1_000,
                 min_compression_rate=2, use_error_feedback=True, warm_start=True,
                 orthogonalization_epsilon=0, random_seed=0,
                 compression_stats_logging_frequency=10_000,
                 batch_tensors_with_same_shape=False):
        if (use_error_feedback or warm_start) and start_powerSGD_iter <= 1:
            raise ValueError(
                f"start_powerSGD_iter={start_powerSGD_iter}: with use_error_feedback or "
                "warm_start it must be > 1, because DDP may rebuild its buckets in the first "
                "steps and the per-bucket memory would not fit them; pass 2 or more")
        if matrix_approximation_rank < 1:
            raise ValueError(f"matrix_approximation_rank={matrix_approximation_rank} must be "
                             ">= 1")
        self.process_group = process_group
        self.matrix_approximation_rank = int(matrix_approximation_rank)
        self.start_powerSGD_iter = int(start_powerSGD_iter)
        self.min_compression_rate = min_compression_rate
        self.use_error_feedback = use_error_feedback
        self.warm_start = warm_start
        self.orthogonalization_epsilon = orthogonalization_epsilon
        self.rng = numpy.random.RandomState(random_seed)
        self.compression_stats_logging_frequency = max(1, compression_stats_logging_frequency)
        self.batch_tensors_with_same_shape = batch_tensors_with_same_shape
        self.error_dict = {}
        self.p_memory_dict = {}
        self.q_memory_dict = {}
        self._plans = {}     # bucket index -> which tensors are compressed (see _plan)
        self.iter = 0
        self.total_numel_before_compression = 0
        self.total_numel_after_compression = 0

    def maybe_increase_iter(self, bucket):
        """Count one step when the step's last bucket goes through the hook."""
        if bucket.is_last():
            self.iter += 1

    def compression_stats(self):
        """(compression rate, values before compression, values after), summed over buckets
        and steps since compression started."""
        after = self.total_numel_after_compression
        rate = self.total_numel_before_compression / after if after > 0 else 0
        return rate, self.total_numel_before_compression, after


def _orthogonalize(matrix, epsilon=0):
    """Gram-Schmidt on the columns of ``matrix`` (n x r), in place."""
    xp = get_array_module(matrix)
    for i in range(matrix.shape[1]):
        col = matrix[:, i]
        norm = xp.sqrt(xp.dot(col, col)) + epsilon
        if norm:
            col /= norm
        else:   # a zero column (a vanishing gradient): 0, not 0 / 0 = NaN
            col[...] = 0
        if i + 1 < matrix.shape[1]:
            rest = matrix[:, i + 1:]
            rest -= xp.outer(col, col @ rest)


def _should_compress(rows, cols, rank, min_compression_rate):
    """(compress?, values uncompressed, values compressed) for an n x m matrix at rank r."""
    uncompressed, compressed = rows * cols, (rows + cols) * rank
    return compressed * min_compression_rate < uncompressed, uncompressed, compressed


def _plan(state, index, bucket):
    """How a bucket is compressed, worked out once per bucket buffer (a rebuilt bucket gets a
    new buffer; shapes do not change between steps). A dict: ``compress``, (offset, rows, cols,
    rank) of each matrix worth compressing; ``plain``, (offset, shape) of the other gradients;
    ``flat``, the gradient values leading the buffer (control values follow); ``tail``, those
    control values; ``packed``, the first all-reduce's buffer (plain tensors, control values,
    then every P factor); ``p_memory``, its P part, and ``ps``, each matrix's P in it;
    ``q_size``; values ``before`` and ``after`` compression."""
    buffer = bucket.buffer()
    plan = state._plans.get(index)
    if plan is not None and plan["buffer"] is buffer:
        return plan
    if plan is not None:
        # DDP rebuilt its buckets: every buffer is new, and there may be fewer buckets now.
        state._plans.clear()
    compress, plain = [], []
    offset = plain_size = p_size = q_size = before_all = after_all = 0
    for grad in bucket.gradients():     # views tiling the buffer's head, in order
        n = grad.shape[0] if grad.ndim else 1
        m = grad.size // n if n else 0   # an empty (0, k) parameter stays plain
        rank = min(n, m, state.matrix_approximation_rank)
        worth, before, after = _should_compress(n, m, rank, state.min_compression_rate)
        before_all += before
        if worth:
            compress.append((offset, n, m, rank))
            p_size, q_size = p_size + n * rank, q_size + m * rank
            after_all += after
        else:
            plain.append((offset, grad.shape))
            plain_size += grad.size
            after_all += before
        offset += grad.size
    xp = get_array_module(buffer)
    packed = xp.empty(plain_size + buffer.size - offset + p_size, dtype=buffer.dtype)
    p_memory = packed[packed.size - p_size:]
    ps, at = [], 0
    for _, n, _, rank in compress:
        ps.append(p_memory[at:at + n * rank].reshape(n, rank))
        at += n * rank
    plan = state._plans[index] = dict(
        buffer=buffer, compress=compress, plain=plain, flat=buffer[:offset],
        tail=buffer[offset:], q_size=q_size, packed=packed, p_memory=p_memory, ps=ps,
        before=before_all, after=after_all, views={})
    return plan


def _fits(error, flat):
    """Whether ``error`` can serve as the error buffer of ``flat`` as it is."""
    return (error is not None and error.shape == flat.shape and error.dtype == flat.dtype and
            get_array_module(error) is get_array_module(flat) and error.flags.c_contiguous)


def _views(plan, role, source):
    """The compressed matrices and the plain tensors as views of ``source`` (the bucket's
    gradient values, or the error buffer once it holds them plus the error), made once."""
    cached = plan["views"].get(role)
    if cached is None or cached[0] is not source:
        matrices = [source[o:o + n * m].reshape(n, m) for o, n, m, _ in plan["compress"]]
        plain = [source[o:o + math.prod(shape)].reshape(shape) for o, shape in plan["plain"]]
        cached = plan["views"][role] = (source, matrices, plain)
    return cached[1], cached[2]


def powerSGD_hook(state, bucket):
    """Average ``bucket`` over ranks through rank-r PowerSGD approximations of its matrices.

    Before ``state.start_powerSGD_iter`` steps it is the plain all-reduce. Returns the
    bucket's buffer, which then holds the approximated average.

    >>> ddp.register_comm_hook(PowerSGDState(None, matrix_approximation_rank=1),
    ...                        powerSGD_hook)                             # doctest: +SKIP
    """
    comm = state.process_group if state.process_group is not None else bucket.process_group
    buffer = bucket.buffer()
    if state.iter < state.start_powerSGD_iter:
        state.maybe_increase_iter(bucket)
        return allreduce_hook(comm, bucket)

    xp = get_array_module(buffer)
    world_size = comm.size
    index = bucket.index()
    plan = _plan(state, index, bucket)
    state.total_numel_before_compression += plan["before"]
    state.total_numel_after_compression += plan["after"]
    flat = plan["flat"]   # distgrad's control values follow; averaged as they are
    # With error feedback the error buffer takes this step's gradient in (one pass, where
    # adding and then copying took two) and is read in place of it; what is sent back is
    # subtracted at the end, leaving the new error.
    source = flat
    if state.use_error_feedback:
        source = state.error_dict.get(index)
        if not _fits(source, flat):
            # None, or set from outside (a checkpoint): the views below need a C-contiguous
            # array of the gradients' shape and dtype.
            error = xp.zeros_like(flat)
            if source is not None and source.size == flat.size:
                error[...] = xp.asarray(source).reshape(-1)
            source = state.error_dict[index] = error
        source += flat
    matrices, plain_in = _views(plan, "source", source)
    outputs, plain_out = _views(plan, "flat", flat)

    packed, q_size, ps = plan["packed"], plan["q_size"], plan["ps"]
    q_memory = state.q_memory_dict.get(index)
    fresh = not state.warm_start or q_memory is None or q_memory.size != q_size
    if fresh:
        q_memory = state.q_memory_dict[index] = xp.empty(q_size, dtype=buffer.dtype)
    state.p_memory_dict[index] = plan["p_memory"]
    qs, q_at = [], 0
    for _, _, m, rank in plan["compress"]:
        qs.append(q_memory[q_at:q_at + m * rank].reshape(m, rank))
        q_at += m * rank
    if fresh:
        # Every rank draws the same Q: the same seed, consumed the same way.
        rng = numpy.random.default_rng(state.rng.randint(1_000_000_000))
        for q in qs:
            q[...] = xp.asarray(rng.standard_normal(q.shape).astype(buffer.dtype))
    for q in qs:
        _orthogonalize(q, state.orthogonalization_epsilon)

    # P = M Q, summed over ranks, orthogonalised; then Q = M^T P, averaged: P Q^T is the
    # projection of the average gradient on span(P). P is computed straight into the buffer
    # of the first all-reduce, after the plain tensors and the control values (PyTorch sends
    # the plain ones apart; a sum is elementwise, so the values are the same, one latency less).
    for matrix, q, p in zip(matrices, qs, ps):
        xp.matmul(matrix, q, out=p)
    offset = 0
    for part in plain_in + [plan["tail"]]:
        packed[offset:offset + part.size] = part.reshape(-1)
        offset += part.size
    comm.allreduce(packed)
    offset = 0
    for part in plain_out + [plan["tail"]]:
        xp.divide(packed[offset:offset + part.size].reshape(part.shape), world_size, out=part)
        offset += part.size
    for p in ps:
        _orthogonalize(p, state.orthogonalization_epsilon)
    for matrix, p, q in zip(matrices, ps, qs):
        xp.matmul(matrix.T, p, out=q)
    if q_size:
        comm.allreduce(q_memory)
        q_memory /= world_size
    for output, p, q in zip(outputs, ps, qs):
        # dot, not matmul: NumPy's matmul takes a slow loop for an inner dimension of 1
        # (175 us instead of 15 us for the MLP's 128 x 784 weight at rank 1).
        xp.dot(p, q.T, out=output)

    if state.use_error_feedback:
        source -= flat
    if not state.warm_start:
        state.p_memory_dict.clear()
        state.q_memory_dict.clear()
    state.maybe_increase_iter(bucket)
    return buffer
