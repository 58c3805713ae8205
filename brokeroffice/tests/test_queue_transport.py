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


def test_partial_files_a_dead_publisher_left_are_swept_when_a_process_starts(tmp_path):
    import os
    import time

    from brokeroffice.celery import make_embedded_queue_folder
    from brokeroffice.queue_transport import PARTIAL_ABANDONED_AFTER_S

    abandoned = tmp_path / "1_dead.work.msg.part"
    being_written = tmp_path / "2_live.work.msg.part"
    message = tmp_path / "3_whole.work.msg"
    for path in (abandoned, being_written, message):
        path.write_text("{}")
    long_ago = time.time() - PARTIAL_ABANDONED_AFTER_S - 60
    os.utime(abandoned, (long_ago, long_ago))
    os.utime(message, (long_ago, long_ago))

    class Conf:  # what a process of the embedded queue is configured with
        broker_url = "filesystem://"
        broker_transport_options = {"data_folder_in": str(tmp_path)}

    make_embedded_queue_folder(type("Sender", (), {"conf": Conf})())

    assert sorted(p.name for p in tmp_path.iterdir()) == ["2_live.work.msg.part", "3_whole.work.msg"]
