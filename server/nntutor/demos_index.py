"""Ids of the demo cells, known without importing the demos (which need torch)."""
DEMO_IDS = ("dropout", "activations", "vanishing-gradients", "batch-norm", "lstm-memory",
            "double-softmax", "data-leakage", "cpu-vs-gpu")
