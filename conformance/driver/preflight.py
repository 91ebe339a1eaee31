"""Before the first test: is there a compute replica at this address, and does it speak what
the suite will speak to it?

A run against an address where nothing listens, or something else does, must not spend half a
minute failing every test with a liveness verdict; it should say in one line what is wrong.
`check_address` tells apart, in order: a port nothing listens on (refused), a host that does
not resolve, a server that is not gRPC (no HTTP/2), TLS on one side only, a certificate the
suite does not trust, and a gRPC server without the compute service (UNIMPLEMENTED). Every
step is bounded by `timeout`.

The service check opens one `CommandResponseStream` and sends nothing: a server without the
method answers UNIMPLEMENTED at once; a replica keeps the stream open, and the check cancels
it (a replica serves the newest stream, TRANS-2, and the first test's stream is newer).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from pathlib import Path

import grpc

from conformance.driver import handshake
from conformance.driver.channel import TlsConfig, open_channel
from conformance.driver.process import METHOD
from conformance.driver.requests import RequestPump

_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # + empty SETTINGS
_SETTINGS = 0x04
SERVICE_WAIT = 0.5  # seconds a server without the compute service takes, at most, to say UNIMPLEMENTED


def split_host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def check_address(
    address: str, tls: TlsConfig | None = None, *, timeout: float = 3.0, service: bool = True
) -> str | None:
    """None if a compute replica seems to serve `address`, else why not (one line)."""
    host, port = split_host_port(address)
    problem = _tcp(host, port, timeout)
    if problem is not None:
        return problem
    problem = _tls(host, port, tls, timeout) if tls is not None else _plaintext(host, port, timeout)
    if problem is not None or not service:
        return problem
    return _service(address, tls, timeout)


def _tcp(host: str, port: int, timeout: float) -> str | None:
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        return f"cannot resolve host {host!r}: {e.strerror}"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except ConnectionRefusedError:
        return "connection refused: nothing listens on that port (is the replica running?)"
    except TimeoutError:
        return f"no answer: the TCP connection did not open within {timeout:g} s (a firewall, or the wrong host?)"
    except OSError as e:
        return f"cannot connect: {e.strerror or e}"


def _exchange(host: str, port: int, timeout: float, data: bytes) -> bytes | None:
    """Send `data`, return the first bytes the server answers (b"" if it closed, None if silent)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendall(data)
            return sock.recv(64)
        except TimeoutError:
            return None
        except ConnectionResetError:
            return b""


def _speaks_h2(host: str, port: int, timeout: float) -> tuple[bool, bytes | None]:
    try:
        answer = _exchange(host, port, timeout, _PREFACE)
    except OSError:
        return False, b""
    return answer is not None and len(answer) >= 4 and answer[3] == _SETTINGS, answer


def _speaks_tls(host: str, port: int, timeout: float) -> bool:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as sock,
            context.wrap_socket(sock, server_hostname=host or None),
        ):
            return True
    except (OSError, ssl.SSLError):
        return False


def _plaintext(host: str, port: int, timeout: float) -> str | None:
    ok, answer = _speaks_h2(host, port, timeout)
    if ok:
        return None
    if _speaks_tls(host, port, timeout):
        return "TLS mismatch: the replica speaks TLS, the suite plaintext (give --replica-tls-ca to connect with TLS)"
    return _not_grpc(answer, timeout)


def _not_grpc(answer: bytes | None, timeout: float) -> str:
    if answer is None:
        return f"not gRPC: the port accepts TCP connections but gave no HTTP/2 answer within {timeout:g} s"
    if not answer:
        return "not gRPC: the port accepts TCP connections and closes them without an HTTP/2 answer"
    if answer.startswith((b"HTTP/", b"<")):
        line = answer.split(b"\n", 1)[0].strip().decode("latin-1")
        return f"not gRPC: an HTTP/1 server answered ({line!r}); gRPC needs HTTP/2"
    return f"not gRPC: the port answered {answer[:16]!r}..., not an HTTP/2 SETTINGS frame"


def _tls(host: str, port: int, tls: TlsConfig, timeout: float) -> str | None:
    if not _speaks_tls(host, port, timeout):
        if _speaks_h2(host, port, timeout)[0]:
            return (
                "TLS mismatch: the replica speaks plaintext gRPC, the suite TLS (--replica-tls-ca); "
                "drop the TLS options or enable TLS on the replica"
            )
        return "TLS handshake failed: the port does not speak TLS"
    context = ssl.create_default_context(cafile=str(tls.root_certificates) if tls.root_certificates else None)
    if tls.client_certificate is not None and tls.client_key is not None:
        context.load_cert_chain(str(tls.client_certificate), str(tls.client_key))
    context.set_alpn_protocols(["h2"])
    name = tls.server_name or host
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as sock,
            context.wrap_socket(sock, server_hostname=name) as wrapped,
        ):
            wrapped.settimeout(timeout)
            wrapped.sendall(_PREFACE)
            wrapped.recv(64)  # a server that refuses our client certificate says so here
    except ssl.SSLCertVerificationError as e:
        return f"TLS: the replica's certificate is not trusted ({e.verify_message}; CA {_name(tls.root_certificates)})"
    except ssl.SSLError as e:
        return f"TLS handshake failed: {e.reason or e}"
    except (TimeoutError, ConnectionResetError):
        pass  # the handshake worked; gRPC itself decides below
    except OSError as e:
        return f"TLS connection failed: {e.strerror or e}"
    return None


def _name(path: Path | None) -> str:
    return str(path) if path is not None else "the system's"


def _service(address: str, tls: TlsConfig | None, timeout: float) -> str | None:
    channel = open_channel(address, tls)
    pump = RequestPump()
    call: grpc.Future | None = None
    try:
        why = handshake.why_not_ready(channel, address, tls, timeout)
        if why is not None:  # the transport's own words: a client certificate it wants, say
            return f"gRPC connection not ready{why}"
        stream = channel.stream_stream(METHOD)(iter(pump))
        call = stream
        ended = threading.Event()
        stream.add_done_callback(lambda _: ended.set())  # gRPC's thread signals the end
        if not ended.wait(SERVICE_WAIT):
            return None  # the stream is open: a replica waiting for CreateTimely
        code = stream.code()
        if code == grpc.StatusCode.UNIMPLEMENTED:
            return f"not the compute service: the gRPC server answers UNIMPLEMENTED for {METHOD}"
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
            return f"the gRPC server refused the stream: {code.name} {stream.details()!r}"
        return None  # it ended the stream some other way, but the method exists
    finally:
        pump.close()
        if call is not None:
            with contextlib.suppress(Exception):
                call.cancel()
        channel.close()
