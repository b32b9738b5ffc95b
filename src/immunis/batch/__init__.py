"""Population jobs on Dask: the whole population's forecast, a partition per task."""
