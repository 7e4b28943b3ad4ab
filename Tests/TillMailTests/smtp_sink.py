#!/usr/bin/env python3
"""A loopback SMTP server for TillMail's delivery tests.

Listens on 127.0.0.1 on a port the OS picks and writes that port to DIR/port once it is
listening. Each message it accepts becomes DIR/N.eml (the DATA bytes as received) and
DIR/N.json (the envelope, and the message as Python's email package parses it: an
independent MIME parser checking what TillMail encoded). Recipients whose local part starts
with "reject" get 550, "defer" 451. AUTH accepts only USER/PASSWORD given on the command
line. Exits on its own when its parent dies or after --lifetime seconds, so a crashed test
run leaves nothing behind.
"""
import argparse
import asyncio
import base64
import json
import os
import sys
from email import policy
from email.parser import BytesParser

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def parse(raw: bytes) -> dict:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    defects = [str(d) for d in message.defects]
    for part in message.walk():
        defects += [str(d) for d in part.defects]
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return {
        "subject": str(message["subject"]),
        "from": [[a.display_name, a.addr_spec] for a in message["from"].addresses],
        "to": [[a.display_name, a.addr_spec] for a in message["to"].addresses],
        "reply_to": [[a.display_name, a.addr_spec] for a in message["reply-to"].addresses] if message["reply-to"] else [],
        "message_id": str(message["message-id"]),
        "date": str(message["date"]),
        "content_type": message.get_content_type(),
        "part_types": [part.get_content_type() for part in message.walk()],
        "headers": {name: str(value) for name, value in message.items() if name.lower().startswith("x-till-")},
        "text": plain.get_content() if plain is not None else None,
        "html": html.get_content() if html is not None else None,
        "attachments": [
            {
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
                "data_base64": base64.b64encode(part.get_payload(decode=True)).decode("ascii"),
            }
            for part in message.iter_attachments()
        ],
        "defects": defects,
    }


class Sink:
    def __init__(self, directory: str):
        self.directory = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 No such user here"
        if local.startswith("defer"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        raw = envelope.original_content if envelope.original_content is not None else envelope.content
        record = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}
        try:
            record["parsed"] = parse(raw)
        except Exception as error:  # the test reports it rather than the server dying
            record["parse_error"] = repr(error)
        base = os.path.join(self.directory, str(self.count))
        with open(base + ".eml", "wb") as file:
            file.write(raw)
        # Written under another name first, so the test never reads half a file.
        with open(base + ".json.tmp", "w", encoding="utf-8") as file:
            json.dump(record, file, ensure_ascii=False)
        os.replace(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Message accepted"


async def main() -> None:
    arguments = argparse.ArgumentParser()
    arguments.add_argument("--directory", required=True)
    arguments.add_argument("--user")
    arguments.add_argument("--password")
    arguments.add_argument("--lifetime", type=float, default=300)
    options = arguments.parse_args()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and options.user is not None
            and auth_data.login == options.user.encode()
            and auth_data.password == (options.password or "").encode()
        )
        # handled=False: aiosmtpd then answers 535 itself (its default assumes we did).
        return AuthResult(success=ok, handled=False)

    handler = Sink(options.directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            hostname="sink.till.test",
            authenticator=authenticator,
            auth_required=False,
            auth_require_tls=False,
            decode_data=False,
        ),
        host="127.0.0.1",
        port=0,
    )
    port = server.sockets[0].getsockname()[1]
    with open(os.path.join(options.directory, "port.tmp"), "w") as file:
        file.write(str(port))
    os.replace(os.path.join(options.directory, "port.tmp"), os.path.join(options.directory, "port"))

    parent = os.getppid()
    deadline = loop.time() + options.lifetime
    while os.getppid() == parent and loop.time() < deadline:
        await asyncio.sleep(0.2)
    server.close()
    sys.exit(0)


if __name__ == "__main__":
    asyncio.run(main())
