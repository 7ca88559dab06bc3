"""nntutor: a tutor for neural-network code."""

__version__ = "0.1.0"
