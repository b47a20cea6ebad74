"""SMTP delivery with the standard library: one connection per batch, errors sorted by what to do next.

SMTP_URL says where mail goes:

    smtp://user:pass@host:587     plain connection, upgraded with STARTTLS when the server offers it
    smtp://...?starttls=required  refuse to go on without STARTTLS
    smtp://...?starttls=never     a relay on a trusted network that speaks no TLS
    smtps://user:pass@host:465    TLS from the first byte

Further query parameters: `timeout` (seconds per network operation, default 30), `cafile` (a PEM
file of CAs to trust instead of the system's, for a relay with a private CA), `helo` (the name
given in EHLO). User and password are percent-decoded. Credentials appear in no repr, log line or
error message, and they are never sent over an unencrypted connection except to a loopback host
or when the URL says `starttls=never`.

Errors while sending one message are sorted by RFC 5321's reply classes:
  PermanentError  5yz for this message (recipient unknown, message refused): retrying cannot help.
  TransientError  4yz, the connection lost mid-message, a timeout: try this message again later.
                  After a lost connection the next send opens a new one.
  ConnectionFailed  no usable connection (refused, TLS or authentication failure): nothing was
                  sent, so the batch's messages wait without an attempt counted against them.
"""
from __future__ import annotations

import ipaddress
import logging
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)

# The message as DATA carries it (RFC 5321 4.5.2): CRLF line ends, a leading "." doubled.
_LINE_END = re.compile(rb"\r\n|\r|\n")
_DOT_AT_LINE_START = re.compile(rb"(?m)^\.")
DEFAULT_PORTS = {"smtp": 587, "smtps": 465}  # submission (RFC 6409) and submissions (RFC 8314)
DEFAULT_TIMEOUT = 30.0
STARTTLS_MODES = ("auto", "required", "never")
# A send is a handful of network operations (MAIL, RCPT, DATA, the message, the final reply);
# each may take up to the timeout. The outbox uses this to keep a send inside its lease.
OPERATIONS_PER_SEND = 5


@dataclass(frozen=True)
class SmtpSettings:
    scheme: str
    host: str
    port: int
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    starttls: str = "auto"
    timeout: float = DEFAULT_TIMEOUT
    cafile: str | None = None
    helo: str | None = None

    def describe(self) -> str:
        """Where mail goes, for logs and errors: no credentials."""
        security = "tls" if self.scheme == "smtps" else f"starttls={self.starttls}"
        return f"{self.scheme}://{self.host}:{self.port} ({security})"

    @property
    def on_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False


def parse_smtp_url(url: str) -> SmtpSettings:
    """SMTP_URL -> SmtpSettings; ValueError says what is wrong and never quotes the password."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("must start with smtp:// (STARTTLS when offered) or smtps:// (TLS), "
                         "e.g. smtp://user:pass@smtp.example.com:587")
    if not parts.hostname:
        raise ValueError("names no host, e.g. smtp://user:pass@smtp.example.com:587")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError("has a port that is not a number between 0 and 65535") from None
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(query) - {"starttls", "timeout", "cafile", "helo"})
    if unknown:
        raise ValueError(f"has unknown parameter(s) {', '.join(unknown)} (known: starttls, timeout, cafile, helo)")
    starttls = query.get("starttls", "auto").lower()
    if starttls not in STARTTLS_MODES:
        raise ValueError("starttls must be auto, required or never")
    if scheme == "smtps" and "starttls" in query:
        raise ValueError("smtps:// is TLS from the start; starttls applies to smtp:// only")
    try:
        timeout = float(query.get("timeout", DEFAULT_TIMEOUT))
    except ValueError:
        raise ValueError("timeout must be a number of seconds") from None
    if not 0 < timeout <= 600:
        raise ValueError("timeout must be between 0 and 600 seconds")
    return SmtpSettings(scheme=scheme, host=parts.hostname, port=port, username=unquote(parts.username or ""),
                        password=unquote(parts.password or ""), starttls=starttls, timeout=timeout,
                        cafile=query.get("cafile") or None, helo=query.get("helo") or None)


class DeliveryError(Exception):
    """One message could not be delivered now. `code` is the SMTP reply code, if there was one."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class PermanentError(DeliveryError):
    """5yz for this message: it goes to the dead letters with the reason."""


class TransientError(DeliveryError):
    """4yz, a lost connection, a timeout: the message is tried again later."""


class ConnectionFailed(Exception):
    """No connection to send over (refused, TLS, authentication). Nothing was sent."""


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(text.split())}"


class SmtpTransport:
    """Sends messages over one SMTP connection, opened on the first send and reopened after a loss."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings, *, ssl_context: ssl.SSLContext | None = None,
                 local_hostname: str | None = None):
        self.settings = settings
        self._ssl_context = ssl_context
        self._local_hostname = settings.helo or local_hostname or socket.gethostname()
        self._smtp: smtplib.SMTP | None = None
        self.connections = 0  # opened so far (a batch normally needs one)

    @property
    def max_send_seconds(self) -> float:
        return self.settings.timeout * OPERATIONS_PER_SEND

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context(cafile=self.settings.cafile)
        return self._ssl_context

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        where = s.describe()
        smtp: smtplib.SMTP | None = None
        try:
            if s.scheme == "smtps":
                smtp = smtplib.SMTP_SSL(s.host, s.port, local_hostname=self._local_hostname, timeout=s.timeout,
                                        context=self._context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, local_hostname=self._local_hostname, timeout=s.timeout)
            smtp.ehlo()
            encrypted = s.scheme == "smtps"
            if s.scheme == "smtp" and s.starttls != "never":
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                    encrypted = True
                elif s.starttls == "required":
                    raise ConnectionFailed(f"{where}: the server does not offer STARTTLS, which SMTP_URL requires")
            if s.username:
                if not encrypted and s.starttls != "never" and not s.on_loopback:
                    raise ConnectionFailed(f"{where}: refusing to send the password unencrypted "
                                           "(the server offers no STARTTLS; use smtps:// or ?starttls=never)")
                smtp.login(s.username, s.password)
        except ConnectionFailed:
            _close_quietly(smtp)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _close_quietly(smtp)
            raise ConnectionFailed(f"{where}: authentication failed ({exc.smtp_code})") from None
        except smtplib.SMTPResponseException as exc:
            _close_quietly(smtp)
            raise ConnectionFailed(f"{where}: {_reply(exc.smtp_code, exc.smtp_error)}") from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            _close_quietly(smtp)
            raise ConnectionFailed(f"{where}: {type(exc).__name__}: {exc}") from None
        self.connections += 1
        log.debug("smtp connected", extra={"smtp": where, "connection": self.connections})
        return smtp

    def send(self, envelope_from: str, recipient: str, data: bytes, **context) -> None:
        """Deliver one message to one recipient; returns once the server has accepted it (250)."""
        self.begin(envelope_from, recipient, len(data))
        self.complete(data, **context)

    def begin(self, envelope_from: str, recipient: str, size: int) -> None:
        """MAIL FROM, RCPT TO and DATA: all of a transaction before the message itself.

        Nothing is delivered yet, so a connection found dead here (a server that dropped an idle
        connection) is reopened and the transaction started again at once.
        """
        for reopened in (False, True):
            if self._smtp is None:
                self._smtp = self._connect()
            try:
                self._envelope(self._smtp, envelope_from, recipient, size)
                return
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                self._drop()
                if reopened:
                    raise TransientError(f"connection lost: {type(exc).__name__}: {exc}") from None

    def complete(self, data: bytes, **_ignored) -> None:
        """The message and its final "."; returns once the server has accepted it (250).

        A connection lost here may have been lost after the server took the message: the
        outbox's later resend is the one duplicate SMTP cannot rule out.
        """
        payload = _DOT_AT_LINE_START.sub(b"..", _LINE_END.sub(b"\r\n", data))
        if not payload.endswith(b"\r\n"):
            payload += b"\r\n"
        try:
            self._smtp.send(payload + b".\r\n")
            code, text = self._smtp.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise TransientError(f"connection lost: {type(exc).__name__}: {exc}") from None
        if code != 250:
            self._after_refusal(code)
            raise _classified(code, text)

    def _envelope(self, smtp: smtplib.SMTP, sender: str, recipient: str, size: int) -> None:
        """MAIL FROM, RCPT TO and DATA (354); a refusal raises Permanent/TransientError (or ConnectionFailed)."""
        options = [f"SIZE={size}"] if smtp.has_extn("size") else []
        code, text = smtp.mail(sender, options)
        if code != 250:
            self._after_refusal(code)
            raise _classified(code, text)
        code, text = smtp.rcpt(recipient)
        if code not in (250, 251):
            self._after_refusal(code)
            raise _classified(code, text)
        code, text = smtp.docmd("data")
        if code != 354:
            self._after_refusal(code)
            raise _classified(code, text)

    def _after_refusal(self, code: int) -> None:
        """Leave the connection ready for the next message, or drop it when it cannot be."""
        if code == 421:  # the server is closing the connection
            self._drop()
        elif code in (530, 534, 535, 538):  # authentication required or refused: our setup, not the message
            self._drop()
            raise ConnectionFailed(f"{self.settings.describe()}: the server refused us ({code})")
        elif self._smtp is not None:
            try:
                self._smtp.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()

    def _drop(self) -> None:
        _close_quietly(self._smtp)
        self._smtp = None

    def close(self) -> None:
        """QUIT politely; a connection that is already gone is fine."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            _close_quietly(smtp)


def _classified(code: int, text) -> DeliveryError:
    reply = _reply(code, text)
    return PermanentError(reply, code) if 500 <= code < 600 else TransientError(reply, code)


def _close_quietly(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.close()
    except OSError:
        pass
