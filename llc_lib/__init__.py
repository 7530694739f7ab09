"""llc_lib: a small library behind the LLC reproduction notebooks (see README.md).

Its public API, for using the codes (``llc_lib.api``): ``load`` a trained model, ``LLCModel.encode`` /
``classify`` / ``is_ood``, ``HammingIndex``, ``read_images``, ``save_codes`` / ``load_codes``, ``pack_codes`` /
``unpack_codes``, ``InputError``. Everything else is the reproduction's internals."""

__version__ = "0.1.0"


def __getattr__(name):  # the API and llc_lib.import_official without importing torch at ``import llc_lib``
    if name == "import_official":
        from .engine.official import import_official

        return import_official
    if not name.startswith("_") and name != "api":  # the public API (``api.__all__``), imported on first use
        import importlib

        api = importlib.import_module(f"{__name__}.api")
        if name in api.__all__:
            return getattr(api, name)
    raise AttributeError(f"module 'llc_lib' has no attribute {name!r}")
