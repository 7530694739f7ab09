"""llc_lib: a small library behind the LLC reproduction notebooks (see README.md)."""

__version__ = "0.1.0"


def __getattr__(name):  # llc_lib.import_official without importing torch at ``import llc_lib``
    if name == "import_official":
        from .engine.official import import_official

        return import_official
    raise AttributeError(f"module 'llc_lib' has no attribute {name!r}")
