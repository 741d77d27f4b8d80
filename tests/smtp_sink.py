"""A real SMTP server on loopback for the mail tests (aiosmtpd).

Writes every accepted message to DIR as one .eml file, preceded by an
X-Envelope-To header with the RCPT TO addresses. With CERT and KEY (PEM)
it requires STARTTLS before anything is sent.
    python smtp_sink.py PORT DIR [CERT KEY]
"""
import logging
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = os.path.join(self.directory, f"{time.time_ns()}-{self.count}.eml")
        with open(name + ".tmp", "wb") as f:
            f.write(("X-Envelope-To: " + ",".join(envelope.rcpt_tos) + "\r\n").encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(name + ".tmp", name)
        return "250 2.0.0 Message accepted for delivery"


def main():
    # a client that refuses our certificate is what some tests want
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    port, directory = int(sys.argv[1]), sys.argv[2]
    tls = {}
    if len(sys.argv) > 4:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
        tls = {"tls_context": context, "require_starttls": True}
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port, **tls)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
