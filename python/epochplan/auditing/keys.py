"""What the auditing side reads from the configuration and the environment: dedup's keys and the
variable that sets the rows per batch. Kept apart from the modules that do the work (they import
polars, numpy and pyarrow), so that `epochplan.settings` and the command line's options declare
them without loading those: `--help`, `config show` and a plan of plain counts never do."""

from __future__ import annotations

from ..config import Key, choice

LEVELS = ("exact", "near")
KEEP = ("first", "longest")

#: `[tool.epochplan.dedup]` keys (also `EPOCHPLAN_<KEY>` and `--<key>`).
DEDUP_KEYS: tuple[Key, ...] = (
    Key("level", choice(*LEVELS), "near", "cluster level: near or exact", "dedup"),
    Key("keep", choice(*KEEP), "first", "representative: first (lowest row) or longest (most characters)", "dedup"),
)

#: The variable that sets the rows per batch (`auditing.run._batch_rows_from_env`).
BATCH_ROWS_VARIABLE = "EPOCHPLAN_BATCH_ROWS"
