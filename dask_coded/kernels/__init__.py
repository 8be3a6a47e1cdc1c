"""Pure numpy kernels: numpy in, numpy out, no dask import."""
