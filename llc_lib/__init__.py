"""llc_lib: a small library behind the LLC reproduction notebooks (see README.md)."""
__version__ = "0.1.0"
