"""``Optimizer``: param groups, per-parameter state, ``zero_grad``, ``state_dict`` — PyTorch's
semantics — and the step loop that hands each subclass its parameters as flat arrays.
"""
import copy
from collections import defaultdict

import numpy

from .. import backend
from ..autograd import Tensor, enable_grad, no_grad
from ._flat import FlatGroup


def _is_array(value):
    return isinstance(value, numpy.ndarray) or backend.device_of(value) != "cpu"


def _check_options(**checks):
    """Raise PyTorch's ``ValueError`` for the first option that is out of range.

    Each keyword names an option (``lr``, ``momentum`` ...) and gives its value; the option's
    name chooses the rule and the message (``Invalid learning rate: -1``).
    """
    labels = {"lr": "learning rate", "eps": "epsilon value"}
    for name, value in checks.items():
        if name == "betas":
            for i, beta in enumerate(value):
                if not 0.0 <= beta < 1.0:
                    raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        elif not 0.0 <= value or (name == "rho" and value > 1.0):
            raise ValueError(f"Invalid {labels.get(name, name + ' value')}: {value}")


class Optimizer:
    """Base class of all optimisers (PyTorch's ``torch.optim.Optimizer``).

    Args:
        params: an iterable of Tensors, or of dicts (param groups) holding ``"params"`` and any
            options that differ from ``defaults`` for those parameters.
        defaults: the options every group gets unless it says otherwise.

    A subclass gives ``_state_kinds(group)`` (names of its per-parameter arrays) and
    ``_update(group, flat)``, which updates one ``FlatLayout`` in place.
    """

    def __init__(self, params, defaults):
        self._check_group(defaults)
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        self._flat = {}
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor: wrap it in a list")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines + [")"])

    def _check_group(self, group):
        """Reject bad option values in a new param group (subclasses add their rules)."""
        _check_options(lr=group["lr"])

    def add_param_group(self, param_group):
        """Add a group of parameters with its own options (e.g. a layer unfrozen later).

        Options the group does not give are taken from ``defaults``.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs; "
                            "use a list instead")
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor: pass leaf parameters "
                                 "(or tensor.detach().requires_grad_())")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter group lists the same parameter twice; list it once")
        group = {**self.defaults, **param_group, "params": params}
        self._check_group(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Reset gradients: drop them (``set_to_none=True``, PyTorch's default) or fill the
        existing arrays with zeros in place (keeps views such as gradient buckets valid)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad.array.fill(0)

    def step(self, closure=None):
        """Update every parameter that has a gradient, in place; parameters without ``.grad``
        are skipped.

        Args:
            closure: optional callable that recomputes the loss (run with gradients enabled).

        Returns:
            what ``closure`` returned, else None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for i, group in enumerate(self.param_groups):
                for flat in self._flat_states(i, group):
                    self._update(group, flat)
        return loss

    def _gradient(self, group, flat, decoupled=False):
        """The group's gradients as one flat array, negated with ``maximize``, with
        ``weight_decay * p`` added, or with the parameters shrunk by ``1 - lr * weight_decay``
        instead when ``decoupled``. Read-only: it may be the gradients' own buffer (a DDP
        bucket); what changes them is written to scratch 0. Uses scratch 1 as a temporary."""
        xp, tmp, own = flat.xp, flat.scratch(1), flat.scratch(0)
        g = flat.gradients(own)
        if group["maximize"]:
            g = xp.negative(g, out=own)
        weight_decay = float(group["weight_decay"])
        if weight_decay != 0 and decoupled:
            flat.scale_params(1 - float(group["lr"]) * weight_decay)
        elif weight_decay != 0:
            g = xp.add(g, xp.multiply(flat.param_values(tmp), weight_decay, out=tmp), out=own)
        return g

    def _next_steps(self, flat):
        """Count one more step in ``state[p]["step"]`` of each parameter of ``flat``; returns
        the new counts, in order."""
        steps = []
        for p in flat.params:
            entry = self.state[p]
            entry["step"] = entry.get("step", 0) + 1
            steps.append(entry["step"])
        return steps

    def _flat_states(self, index, group):
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            return []
        kinds = self._state_kinds(group)
        layout = self._flat.get(index)
        if layout is None or not layout.matches(params, self.state, kinds):
            # Parameters gained or lost a gradient, or state was replaced: lay out again,
            # copying the state that exists.
            layout = self._flat[index] = FlatGroup(params, self.state, kinds)
        return layout.parts

    def state_dict(self):
        """The optimiser's state as PyTorch structures it, with NumPy host copies of arrays.

        ``{"state": {index: {name: value}}, "param_groups": [{option: value, "params":
        [index, ...]}]}``, where indices number the parameters across groups in order.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, entry in self.state.items():
            state[index[id(p)]] = {k: backend.to_numpy(v).copy() if _is_array(v) else v
                                   for k, v in entry.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict`` returned (options included), moving arrays to each
        parameter's device and dtype.

        Raises ``ValueError`` naming the first mismatch (number of groups, group sizes, unknown
        parameter index, array shapes); a failed load changes nothing.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups but "
                             f"the optimizer has {len(self.param_groups)}")
        params = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"parameter group {i} of the loaded state dict has "
                                 f"{len(saved['params'])} parameters but the optimizer's group "
                                 f"{i} has {len(group['params'])}")
            params.update(zip(saved["params"], group["params"]))
        state = defaultdict(dict)
        for key, entry in state_dict["state"].items():
            if key not in params:
                raise ValueError(f"loaded state dict has state for parameter {key!r}, which no "
                                 f"parameter group lists (indices 0..{len(params) - 1})")
            p = params[key]
            for name, value in entry.items():
                if _is_array(value):
                    if tuple(value.shape) != p.shape:
                        raise ValueError(f"state {name!r} of parameter {key} has shape "
                                         f"{tuple(value.shape)} but the parameter has shape "
                                         f"{p.shape}")
                    value = backend.to_device(value, p.device).astype(p.array.dtype, copy=True)
                else:
                    value = copy.deepcopy(value)
                state[p][name] = value
        for saved, group in zip(saved_groups, self.param_groups):
            options = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            options["params"] = group["params"]
            group.clear()
            group.update(options)
        self.state = state
        self._flat.clear()
