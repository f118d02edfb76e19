"""Clients as an attacker or a bad network makes them: raw request bytes sent as they are, and clients
that send a byte a second."""

import socket
import threading
import time
from contextlib import contextmanager


def send_raw(base_url: str, request: bytes) -> tuple[int, dict, bytes]:
    """Send the bytes of a request as they are, while reading the answer (a server may answer before it
    has read the whole body); the status, headers and body of the answer."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:

        def send() -> None:
            try:
                connection.sendall(request)
            except OSError:
                pass  # refused before the whole body was sent

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := connection.recv(65536)):
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
        while len(body) < int(headers.get("content-length", 0)) and (chunk := connection.recv(65536)):
            body += chunk
    return int(status_line.split()[1]), headers, body


@contextmanager
def slow_clients(base_url: str, count: int):
    """`count` connections that send their requests a byte a second (half of them stuck in the headers,
    half in a body), for as long as the context lasts."""
    host, port = base_url.removeprefix("http://").split(":")
    stop = threading.Event()
    connections = []
    for index in range(count):
        connection = socket.create_connection((host, int(port)))
        if index % 2:
            connection.sendall(
                b"POST /api/predict HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: image/png\r\nContent-Length: 100000\r\n\r\n"
            )
        else:
            connection.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n")
        connections.append(connection)

    def trickle():
        while not stop.wait(1):
            for index, connection in enumerate(connections):
                try:
                    connection.sendall(b"\0" if index % 2 else b"X")
                except OSError:
                    pass

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        time.sleep(2)  # every connection has started, and would hold a worker that read from it
        yield
    finally:
        stop.set()
        thread.join()
        for connection in connections:
            connection.close()
