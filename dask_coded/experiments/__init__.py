"""Experiments: the benchmark commands (solve, peers, matmul and Fig. 1, scale) and the
fault suite. Each prints a table whose ratios are to baselines run in the same process on the
same cluster; the CLI's ``benchmark`` commands call them. Nothing in the library imports
this package."""
