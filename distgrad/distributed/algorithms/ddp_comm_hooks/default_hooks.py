"""PyTorch's default DDP communication hooks, under their PyTorch module path: the plain
all-reduce and the fp16/bf16 compression hooks (half the bytes of a float32 bucket)."""
from ...comm_hooks import allreduce_hook, bf16_compress_hook, fp16_compress_hook

__all__ = ["allreduce_hook", "fp16_compress_hook", "bf16_compress_hook"]
