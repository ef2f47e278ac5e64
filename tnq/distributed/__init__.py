"""Scale out on Dask: a Program's batches and parameter-shift circuits as tasks.

``tnq.distribute(program, client)`` (or ``tnq.compile(..., client=client)``)
gives a :class:`DistributedProgram`: the Program is sent to every worker once,
and each call sends only numbers (chunks of a batch, ranges of shifted
circuits). Without a client nothing here runs and Dask is never imported;
``pip install "tnq[dask]"`` installs it. See docs/scaling.md.
"""

from .chunks import SHOT_ROWS, TASKS_PER_THREAD, Split, split
from .cluster import DistributedError
from .front import LOCAL_SECONDS, DistributedProgram, distribute

__all__ = ["distribute", "DistributedProgram", "DistributedError", "Split", "split",
           "LOCAL_SECONDS", "SHOT_ROWS", "TASKS_PER_THREAD"]
