"""The base layer (standard library and numpy only): the project's environment variables, atomic file
writes and content hashes, the dependency check. Imports nothing else of ``llc_lib``."""
