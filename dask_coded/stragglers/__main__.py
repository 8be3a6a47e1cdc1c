"""The throttle helper: ``python -m dask_coded.stragglers throttle PID FACTOR PERIOD``
(see :func:`dask_coded.stragglers.inject.main`)."""

import sys

from .inject import main

sys.exit(main())
