"""A TCP forwarder on loopback that a test can cut or blackhole: the network between the app and
a real server (PostgreSQL, Redis) failing, without stopping the server other tests share."""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._open = True
        self._flowing = threading.Event()
        self._flowing.set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open:
                client.close()
                continue
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        self._flowing.wait()  # blackholed: the connection neither opens nor fails
        try:
            upstream = socket.create_connection(self._target)
        except OSError:
            client.close()
            return
        with self._lock:
            self._sockets += [client, upstream]
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pump, args=(source, sink, self._flowing),
                             daemon=True).start()

    def cut(self) -> None:
        """Drop every connection and refuse new ones (they are accepted, then closed)."""
        self._open = False
        self._flowing.set()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def blackhole(self) -> None:
        """Stop forwarding without closing anything: what is sent waits (as packets a
        network drops are sent again by TCP), new connections wait to open. Nothing is refused
        or reset: the app sees only silence, until :meth:`restore`."""
        self._flowing.clear()

    def restore(self) -> None:
        """End a blackhole: what waited is delivered, in order."""
        self._flowing.set()

    def close(self) -> None:
        self.cut()
        self._listener.close()


def _pump(source: socket.socket, sink: socket.socket, flowing: threading.Event) -> None:
    try:
        while data := source.recv(65536):
            flowing.wait()
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):  # shutdown first: a close alone would not wake the
            with contextlib.suppress(OSError):  # other direction's recv, nor tell the peer
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
