import gc
import os

# The CLI does no linear algebra: without this, numpy's OpenBLAS starts a thread per core that
# spins beside rayon's workers during the audit.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .cli import main  # noqa: E402

# Everything imported so far lives until exit: keep the garbage collector from scanning it again
# on every collection during a long audit.
gc.freeze()
main()
