"""The embedded queue never hands a worker a message still being written (celery/kombu#1551: a worker
that took one read an empty file and died, stopping `make run`)."""
from queue import Empty

from kombu import Connection
from kombu.utils import json as kombu_json

PROJECT = "brokeroffice.queue_transport:Transport"  # kombu's own "filesystem" transport fails this test


def connection(folder, transport):
    return Connection("filesystem://", transport=transport, transport_options={
        "data_folder_in": str(folder), "data_folder_out": str(folder), "processed_folder": str(folder / "done"),
        "store_processed": True})


def test_a_worker_looking_while_a_message_is_written_sees_nothing_then_the_whole_message(tmp_path, monkeypatch):
    (tmp_path / "done").mkdir()
    seen_while_writing = []
    with connection(tmp_path, PROJECT) as writer, connection(tmp_path, PROJECT) as reader:
        sending, taking = writer.default_channel, reader.default_channel
        sending.queue_declare("work")

        def dumps_while_a_worker_looks(payload):
            try:  # the moment the message is being written: a worker polls the folder
                seen_while_writing.append(taking._get("work"))
            except Empty:
                seen_while_writing.append("nothing")
            return kombu_json.dumps(payload)

        monkeypatch.setattr("brokeroffice.queue_transport.dumps", dumps_while_a_worker_looks)
        try:
            sending._put("work", {"task": "made-up"})
        finally:
            monkeypatch.undo()
        assert seen_while_writing == ["nothing"]
        assert taking._get("work") == {"task": "made-up"}
