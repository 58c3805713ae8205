"""The embedded queue of `make run`: kombu's filesystem transport, with messages written whole.

kombu's own `_put` creates the message file empty and then fills it; a worker polling the folder in between
moves it away and reads nothing, and dies on the empty JSON (celery/kombu#1551). Here a message is written
under a name no reader takes, then renamed into place in one step.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from time import monotonic, time

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

PARTIAL = ".part"  # "<n>_<uuid>.<queue>.msg.part" is not "<queue>.msg": readers skip it
# A message is written in milliseconds: a partial file this old was left by a process that died writing it.
PARTIAL_ABANDONED_AFTER_S = 3600


def sweep_abandoned_partials(folder: str | Path) -> int:
    """Deletes the partial message files a dead publisher left (no reader ever takes them). -> how many."""
    swept = 0
    for path in Path(folder).glob(f"*.msg{PARTIAL}"):
        try:
            if path.stat().st_mtime < time() - PARTIAL_ABANDONED_AFTER_S:
                path.unlink()
                swept += 1
        except FileNotFoundError:  # renamed into place, or swept by another process, meanwhile
            pass
    return swept


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        final = os.path.join(self.data_folder_out, f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg")
        try:
            with open(final + PARTIAL, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(final + PARTIAL, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
