import gc
import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the modules load: nothing started, nothing to clean
    print("interrupted", file=sys.stderr)
    sys.exit(130)

# Everything imported so far lives until exit: keep the garbage collector from scanning it again
# on every collection during a long audit.
gc.freeze()
main()
