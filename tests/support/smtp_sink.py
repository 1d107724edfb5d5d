"""A real SMTP server on loopback for the integration tests (aiosmtpd).

    smtp_sink.py PORT DIR

PORT 0 lets the system choose a free port, so no other process can take it
between choosing and listening; "ready PORT" on standard output says which.

Accepts every message and writes it to DIR as one JSON file (written under
a temporary name, then renamed, so a reader never sees half a file): the
envelope, the headers, and the text and HTML parts decoded. Answers
"250 OK queued as <n>". Runs until killed.
"""

import asyncio
import email
import email.policy
import itertools
import json
import os
import socket
import sys

from aiosmtpd.smtp import SMTP

counter = itertools.count(1)


class Sink:
    def __init__(self, directory):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        number = next(counter)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = {}
        for part in message.walk():
            if part.get_content_maintype() == "multipart":
                continue
            parts.setdefault(part.get_content_type(), part.get_content())
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {key.lower(): str(value) for key, value in message.items()},
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
        }
        path = os.path.join(self.directory, f"{number:05d}.json")
        with open(path + ".tmp", "w") as out:
            json.dump(record, out)
        os.rename(path + ".tmp", path)
        return f"250 OK queued as {number}"


def main():
    port = int(sys.argv[1])
    directory = sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    loop = asyncio.new_event_loop()
    sink = Sink(directory)
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(sink, hostname="127.0.0.1"), sock=listener)
    )
    print(f"ready {listener.getsockname()[1]}", flush=True)
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


if __name__ == "__main__":
    main()
