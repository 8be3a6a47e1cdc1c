"""Experiments: the ``solve`` and ``matmul`` runs behind the CLI (:mod:`.runs`), the
benchmark commands (solve, peers, matmul and Fig. 1, scale) and the fault suite. Each
benchmark prints a table whose ratios are to baselines run in the same process on the same
cluster. Nothing in the library imports this package."""
