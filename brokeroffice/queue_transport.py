"""The embedded queue of `make run`: kombu's filesystem transport, with messages written whole.

kombu's own `_put` creates the message file empty and then fills it; a worker polling the folder in between
moves it away and reads nothing, and dies on the empty JSON (celery/kombu#1551). Here a message is written
under a name no reader takes, then renamed into place in one step.
"""
from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

PARTIAL = ".part"  # "<n>_<uuid>.<queue>.msg.part" is not "<queue>.msg": readers skip it


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
