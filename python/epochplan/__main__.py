import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the modules load: nothing started, nothing to clean
    print("interrupted", file=sys.stderr)
    sys.exit(130)

main()
