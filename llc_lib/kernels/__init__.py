"""Numpy kernels, no torch: decoding (pack, Hamming distance, MHD / ED), code metrics, retrieval MAP,
OOD scores, taxonomies, ``binarize`` and the Random / SVD / CCA codebooks. Imports only ``core``."""
