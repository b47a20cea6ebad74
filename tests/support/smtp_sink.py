"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for tests and benchmarks.

`Sink` is the aiosmtpd handler: it records every accepted message (envelope and bytes) and can be
told to misbehave the way servers do: refuse a recipient, answer 4xx, drop the connection, stop
entirely, or hold a message unanswered (so a test can kill the sender at a known point).
`SmtpServer` runs it with aiosmtpd's threaded Controller; stop() and start() again keep the port.
"""
from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# aiosmtpd logs every command at INFO; thousands of messages would bury the test's own logs.
logging.getLogger("mail.log").setLevel(logging.WARNING)

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message_id(self) -> str | None:
        head = self.data.split(b"\r\n\r\n", 1)[0]
        match = _MESSAGE_ID.search(head)
        return match.group(1).decode() if match else None


class Sink:
    """The handler. Hooks are plain attributes, set by the test before or during a run."""

    def __init__(self):
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        # address -> reply, e.g. {"bob@example.com": "550 5.1.1 <bob@example.com>: no such user"}
        self.refuse: dict[str, str] = {}
        # Called with the number of messages accepted so far at each MAIL FROM; may return a
        # coroutine-free action: "drop" (close the connection), "stop" (stop the whole server),
        # "hold" (leave DATA unanswered until `release` is set), a reply string, or None.
        self.on_mail: Callable[[int], str | None] | None = None
        self.on_data: Callable[[int], str | None] | None = None
        self.controller: Controller | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self.sessions = 0

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.messages)

    def message_ids(self) -> Counter:
        with self._lock:
            return Counter(m.message_id for m in self.messages)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self._lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        action = self.on_mail(self.count) if self.on_mail else None
        reply = await self._act(action, server)
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        action = self.on_data(self.count) if self.on_data else None
        reply = await self._act(action, server)
        if reply:
            return reply
        with self._lock:
            self.messages.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 2.0.0 Message accepted"

    async def _act(self, action: str | None, server) -> str | None:
        if action is None:
            return None
        if action == "drop":
            server.transport.close()
            return "421 4.4.2 dropped"  # never arrives: the connection is gone
        if action == "stop":
            threading.Thread(target=self.controller.stop, daemon=True).start()
            await asyncio.sleep(30)  # cancelled by the stop
            return "421 4.3.2 stopping"
        if action == "hold":
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
            return "451 4.3.0 held and abandoned"
        return action


def make_authenticator(username: str, password: str):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == username
              and auth_data.password.decode() == password)
        return AuthResult(success=ok, handled=False)

    return authenticate


class SmtpServer:
    def __init__(self, sink: Sink | None = None, *, port: int | None = None, **smtp_kwargs):
        self.sink = sink or Sink()
        self.port = port or free_port()
        self.smtp_kwargs = smtp_kwargs
        self.controller: Controller | None = None

    def start(self) -> "SmtpServer":
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port, ready_timeout=10,
                                     **self.smtp_kwargs)
        self.sink.controller = self.controller
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None and self.controller._thread is not None:
            self.controller.stop()

    def wait_stopped(self, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.controller is None or self.controller._thread is None:
                return True
            time.sleep(0.02)
        return False

    def url(self, *, scheme: str = "smtp", userinfo: str = "", query: str = "") -> str:
        at = f"{userinfo}@" if userinfo else ""
        return f"{scheme}://{at}127.0.0.1:{self.port}" + (f"?{query}" if query else "")

    def __enter__(self) -> "SmtpServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 and localhost (cert.pem, key.pem), made with `cryptography`."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def server_tls_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context
