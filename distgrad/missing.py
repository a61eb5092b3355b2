"""What ``distgrad.X`` says for a PyTorch name distgrad does not have: where the feature lives
in distgrad when it lives elsewhere, or what to write instead, so a renamed script fails with
advice."""

_ADVICE = {
    "utils": "torch.utils.data is distgrad.data (Dataset, DataLoader, samplers); torchvision's "
             "datasets and transforms are distgrad.data.datasets and distgrad.data.transforms",
    "compile": "distgrad runs eagerly and has no compiler: call the model itself",
    "jit": "distgrad has no TorchScript: call the model itself, and save it with "
           "distgrad.save(model.state_dict(), path)",
    "autocast": "distgrad has no automatic mixed precision: compute in float32, or convert the "
                "model with model.half()",
    "amp": "distgrad has no automatic mixed precision: compute in float32, or convert the model "
           "with model.half()",
    "set_default_tensor_type": "use distgrad.set_default_dtype(distgrad.float64) for the dtype, "
                               "and device= or .to(device) for the device",
}
for _name in ("FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
              "ByteTensor", "CharTensor", "BoolTensor"):
    _ADVICE[_name] = ("distgrad has no typed tensor classes: use distgrad.tensor(data, dtype=...) "
                      "or distgrad.zeros(size, dtype=...), and isinstance(x, distgrad.Tensor)")


def __getattr__(name):
    """Raise AttributeError for ``distgrad.<name>``, with advice where distgrad knows the name
    from PyTorch."""
    import distgrad
    advice = _ADVICE.get(name)
    if advice is None:
        raise AttributeError(f"module 'distgrad' has no attribute {name!r}", name=name,
                             obj=distgrad)
    raise AttributeError(f"module 'distgrad' has no attribute {name!r}: {advice}")
