"""Writing a file all at once: readers see the old content or the new, never half of it.

Used for the caches (code cache, remembered `initialize` answers, the catalog snapshot) and for
`nntutor check --fix`, which rewrites the user's files: a temporary file in the same folder (so
`os.replace` is a rename on one file system), its mode set, then renamed over the target; on any
failure the temporary file is removed and the error raised for the caller to judge.
"""
from __future__ import annotations

import os


def write_atomic(path, data: bytes, mode: int = 0o600) -> None:
    import tempfile  # (not at import: the language server loads this before it answers anything)

    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
