"""The torch engine: data, models, the LLC head and codebook file, checkpoints, device, the training
loop, inference, warm starts, probes, import of official checkpoints. Imports ``core``, ``kernels``,
``methods`` and ``config``."""
