"""A real service made to fail for one test or benchmark run only: a TCP proxy in front of it that can be
taken down and brought back, as a stopped and restarted server looks to its clients, or made to hang,
without touching the server that other tests and processes use."""

import multiprocessing
import socket
import threading


class Outage:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target_port` while up. Down, it refuses new
    connections and cuts the open ones."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = 0
        self.listener: socket.socket | None = None
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.hanging = False
        self.hung_connections = 0
        """Connections accepted while hanging: each is a client's attempt to reach the server."""
        self.up()

    def hang(self) -> None:
        """Accept connections and never answer, as a server that is stuck: the open ones are cut, so
        that clients connect again into the hang."""
        self.hanging = True
        self.cut()

    def unhang(self) -> None:
        self.hanging = False
        self.cut()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        with self.lock:
            listener, self.listener = self.listener, None
        if listener is not None:
            listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        self.cut()

    def cut(self) -> None:
        """Cut the open connections and keep accepting new ones, as a server that restarted at once."""
        with self.lock:
            connections, self.connections = self.connections, []
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self.hanging:
                with self.lock:
                    self.connections.append(client)
                    self.hung_connections += 1
                continue
            server = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                if self.listener is not listener:
                    client.close()
                    server.close()
                    return
                self.connections += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, destination: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                destination.sendall(data)
        except OSError:
            pass
        for side in (source, destination):
            try:
                side.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class OutageProcess:
    """An `Outage` in a process of its own, so that the threads of the process that controls it (a load's
    clients) do not delay what it forwards."""

    def __init__(self, target_port: int):
        context = multiprocessing.get_context("spawn")
        self.commands, theirs = context.Pipe()
        self.process = context.Process(target=_serve_outage, args=(target_port, theirs), daemon=True)
        self.process.start()
        self.port = self.commands.recv()

    def _command(self, name: str) -> None:
        self.commands.send(name)
        self.commands.recv()

    def down(self) -> None:
        self._command("down")

    def up(self) -> None:
        self._command("up")

    def close(self) -> None:
        """Down for good, and the process ended."""
        if self.process.is_alive():
            self._command("down")
            self.commands.send("stop")
        self.process.join(timeout=10)


def _serve_outage(target_port: int, commands) -> None:
    outage = Outage(target_port)
    commands.send(outage.port)
    while (command := commands.recv()) != "stop":
        getattr(outage, command)()
        commands.send(None)
