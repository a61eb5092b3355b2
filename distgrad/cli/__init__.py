"""The ``distgrad`` command line: ``train`` and ``info``."""
from .main import build_parser, main

__all__ = ["build_parser", "main"]
