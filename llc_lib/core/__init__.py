"""The base layer (standard library and numpy only): the project's environment variables, its folders, atomic
file writes and content hashes, the dependency check, the versions of the packages a run uses. Imports nothing
else of ``llc_lib``."""
