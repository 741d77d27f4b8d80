"""A real SMTP server on loopback for the mail tests (aiosmtpd).

Writes every accepted message to DIR as one .eml file, preceded by an
X-Envelope-To header with the RCPT TO addresses. With CERT and KEY (PEM)
it requires STARTTLS before anything is sent. With --auth USER PASSWORD it
takes a mail only after AUTH as that user, over TLS or not (it protects
nothing itself: a test sees what the client sends), and writes each AUTH to
DIR/auth.log as "MECHANISM USER accepted|refused tls|plain", never the
password.
    python smtp_sink.py PORT DIR [CERT KEY] [--auth USER PASSWORD]
"""
import logging
import os
import ssl
import sys
import time
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


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


class Auth:
    def __init__(self, directory, user, password):
        self.log = os.path.join(directory, "auth.log")
        self.expected = LoginPassword(user.encode(), password.encode())

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data == self.expected
        login = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?"
        with open(self.log, "a") as f:
            verdict = "accepted" if ok else "refused"
            channel = "tls" if session.ssl is not None else "plain"
            f.write(f"{mechanism} {login} {verdict} {channel}\n")
        return AuthResult(success=ok, handled=False, auth_data=auth_data)


def main():
    # a client that refuses our certificate is what some tests want
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    args = sys.argv[1:]
    options = {}
    if "--auth" in args:
        at = args.index("--auth")
        user, password = args[at + 1], args[at + 2]
        del args[at : at + 3]
        # "requiring AUTH while not requiring TLS": exactly what the tests want
        warnings.simplefilter("ignore")
        options = {
            "authenticator": Auth(args[1], user, password),
            "auth_required": True,
            "auth_require_tls": False,
        }
    port, directory = int(args[0]), args[1]
    if len(args) > 3:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args[2], args[3])
        options.update(tls_context=context, require_starttls=True)
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port, **options)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
