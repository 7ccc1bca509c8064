"""Adversarial tests: bad files, odd paths, hostile text, signals, a first run. Each test names
the defect it guards against (issue 11 item N) and runs the real CLI as a subprocess where the
defect is about the CLI. Add a case here whenever epochplan is found to break in a new way."""
