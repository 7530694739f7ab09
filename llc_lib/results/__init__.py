"""Results, no torch: the paper's claims and every verdict (``claims``), the paper-vs-reproduction report,
the generated pages, the comparison of a fresh run with the committed figures, the measurement ledger, plots.
Imports ``core``, ``kernels`` and ``config``."""
