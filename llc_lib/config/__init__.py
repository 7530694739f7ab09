"""Settings, no torch: one run's recipe (``recipe``), the profiles (``profiles``) and their overrides
(``overrides``). Imports ``core`` and the methods' registry and published recipes."""
