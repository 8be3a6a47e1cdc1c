"""dask_coded: straggler-tolerant, out-of-core coded linear algebra on Dask.

Public API
----------
open_dataset, make_dataset, DatasetPath, integrity
    Regression data (A, b) in chunked Zarr stores: your own (any array names), or
    generated; whether a store's chunks carry checksums.
block_leverage_scores, compute_block_leverage
    Block leverage scores (GC eq. 5), exact or sketched, out of core.
expansion_network
    Replication of blocks across servers (GC Section III-C/D).
embedding_error
    The l2-subspace embedding error of a block sketch, beside GC Theorem 1's bound.
lstsq, CodedLinearRegression
    Coded least squares on a cluster whose workers straggle (GC Sections III-E to IV).
matmul, optimize_code
    Coded matrix products (MatDot, epsilon-MatDot, optimized codes; MatDot paper).

Configuration
-------------
Defaults live in dask's configuration under ``dask-coded`` (``dask-coded.yaml`` in the
package): ``dask.config.set({"dask-coded.unresponsive-after": 5})`` or the environment
variable ``DASK_DASK_CODED__UNRESPONSIVE_AFTER=5``; an argument given to a call wins.

References
----------
"GC" is N. Charalambides, M. Pilanci and A. O. Hero III, "Gradient Coding through Iterative
Block Leverage Score Sampling", arXiv:2308.03096. "MatDot" is V. Cadambe, F. P. Calmon,
A. Devulapalli and H. Jeong, "epsilon-Approximate Coded Matrix Multiplication is Nearly Twice
as Efficient as Exact Multiplication", ISIT 2021, arXiv:2105.01973. Equation and theorem
numbers in the docstrings ("GC eq. 26", "MatDot Thm 3") are those papers'.
"""

from . import _dask_config
from .datasets import make_dataset
from .embedding import EmbeddingError, embedding_error
from .errors import InputError
from .expansion import ExpansionNetwork, expansion_network
from .io import DatasetPath, integrity, open_dataset
from .kernels.runtime import RuntimeModel, runtime_model
from .leverage import LeverageResult, block_leverage_scores, compute_block_leverage
from .linear_model import lstsq
from .matmul import MatmulResult, matmul, optimize_code
from .solvers import LstsqResult

__all__ = [
    "CodedLinearRegression",
    "DatasetPath",
    "EmbeddingError",
    "ExpansionNetwork",
    "InputError",
    "LeverageResult",
    "LstsqResult",
    "MatmulResult",
    "RuntimeModel",
    "block_leverage_scores",
    "compute_block_leverage",
    "embedding_error",
    "expansion_network",
    "integrity",
    "lstsq",
    "make_dataset",
    "matmul",
    "open_dataset",
    "optimize_code",
    "runtime_model",
]
__version__ = "0.1.0"

# dask's own way (as distributed and dask-ml): the shipped defaults join dask.config without
# overriding what the user set; the code reads them at call time
_dask_config.register()


def __getattr__(name: str):
    # the estimator needs scikit-learn, which takes a second to import: loaded on first use
    if name == "CodedLinearRegression":
        from .estimator import CodedLinearRegression

        return CodedLinearRegression
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
