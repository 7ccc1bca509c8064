"""Hugging Face `datasets` `save_to_disk` folders read as files: a folder read takes the shards
its `state.json` lists (`_data_files`), in that order (`saved_dataset_files`), and so does a
pattern's match in such a folder (`as_saved_datasets`), never `datasets`' `cache-*.arrow` files
beside them."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError


def _listed(folder: Path) -> list[str]:
    """The file names `folder`'s `state.json` lists; OSError, ValueError, KeyError or TypeError
    when it cannot be read as a `datasets` state file."""
    files = [entry["filename"] for entry in json.loads((folder / "state.json").read_text(encoding="utf-8"))["_data_files"]]
    if not all(isinstance(f, str) for f in files):
        raise TypeError("a filename there is not a string")
    return files


def saved_dataset_files(folder: Path) -> list[Path] | None:
    """The shards of a `save_to_disk` folder in `state.json` order, or None when it is not one."""
    state = folder / "state.json"
    if not state.is_file():
        if (folder / "dataset_dict.json").is_file():
            splits = sorted(p.name for p in folder.iterdir() if (p / "state.json").is_file())
            raise InputError(f"{folder}: a saved DatasetDict with splits {', '.join(splits) or '(none)'}; pass one split's folder")
        return None
    try:
        files = _listed(folder)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{state}: not a readable datasets state file ({e}); re-save the dataset with save_to_disk") from None
    if not files:
        raise InputError(f"{state}: lists no data files; re-save the dataset with save_to_disk")
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise InputError(f"{folder}: data file {missing[0]} listed in state.json is missing; re-save the dataset")
    return [folder / f for f in files]


def as_saved_datasets(matches: list[Path]) -> list[Path]:
    """A pattern's matches (sorted), those in a `save_to_disk` folder as a folder read takes them:
    the shards its `state.json` lists, in that order, without the `cache-*.arrow` files `datasets`
    writes beside them (a `.map()` after `load_from_disk`), which hold other rows. The pattern
    `'ds/*.arrow'` means the dataset: taken as matched, its rows would count twice, with no word.
    A pattern that matches none of a folder's shards (`'ds/cache-*.arrow'`) aims at its other
    files and reads them as matched; a folder whose `state.json` cannot be read is left as
    matched too (a folder read names the fault)."""
    by_folder: dict[Path, list[Path]] = {}
    for match in matches:
        by_folder.setdefault(match.parent, []).append(match)
    shards: dict[Path, list[Path]] = {}
    for folder, found in by_folder.items():
        if not (folder / "state.json").is_file():
            continue
        try:
            listed = _listed(folder)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        names = {match.name for match in found}
        shards[folder] = [folder / name for name in listed if name in names]
    out: list[Path] = []
    for match in matches:  # every other match where it was: a `**` pattern's order is kept
        listed = shards.get(match.parent)
        if not listed:
            out.append(match)
        elif match == by_folder[match.parent][0]:  # a saved dataset's shards at its first match
            out.extend(listed)
    return out
