"""``LRScheduler``, the base of every learning-rate schedule: ``initial_lr`` bookkeeping, the
first step taken at construction, ``step()``, ``get_last_lr()`` and ``state_dict()`` as PyTorch
has them."""
from .optimizer import Optimizer


class LRScheduler:
    """Base class: sets each param group's ``lr`` from ``get_lr()`` at every ``step()``.

    Constructing a scheduler records ``initial_lr`` in each param group and takes the first step
    (``last_epoch`` becomes 0). Call ``scheduler.step()`` after ``optimizer.step()``. Subclasses
    give ``get_lr()`` (the next rates, usually from the current ones, as PyTorch does) and, when
    that depends on the current rates, ``_get_closed_form_lr()`` (the rates at ``last_epoch``
    from ``base_lrs``).

    Args:
        optimizer: the optimiser whose learning rates are scheduled.
        last_epoch: index of the last step taken; -1 starts a new schedule.
    """

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when "
                               f"resuming a scheduler with last_epoch={last_epoch}: load the "
                               "optimizer's state_dict first, or start with last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._is_initial = False
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def step(self):
        """Advance the schedule by one step and write the new rates into the param groups."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            # Schedules whose get_lr() already depends on last_epoch alone need no closed form.
            self.last_epoch = epoch
            values = getattr(self, "_get_closed_form_lr", self.get_lr)()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per param group."""
        return list(self._last_lr)

    def state_dict(self):
        """Everything but the optimiser, as PyTorch saves it."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict`` returned."""
        self.__dict__.update(state_dict)

    def _current(self):
        return [group["lr"] for group in self.optimizer.param_groups]
