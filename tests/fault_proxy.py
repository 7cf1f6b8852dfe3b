"""A TCP forwarder put between the app and a real PostgreSQL server, to make the server look
frozen or restarted without touching the server itself (other tests share it).

* :meth:`FaultProxy.pause`: nothing is forwarded any more, in either direction, and new
  connections are accepted but not answered: what a client sees of a frozen (SIGSTOPped)
  server or a dead network path. :meth:`FaultProxy.resume` lets everything through again,
  bytes held meanwhile included.
* :meth:`FaultProxy.hold_replies`: the client's bytes still reach the server, the server's
  replies are held (a commit the server made whose answer is lost on the way back).
* :meth:`FaultProxy.drop`: every connection through the proxy is cut (a server restart, as
  the client sees it).

Test infrastructure only: the bytes are PostgreSQL's own protocol, forwarded untouched.
"""

from __future__ import annotations

import contextlib
import socket
import threading

import sqlalchemy as sa


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._to_server = threading.Event()
        self._to_client = threading.Event()
        self.resume()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._closed = False
        self._accepting = threading.Thread(target=self._accept, daemon=True, name="fault-proxy")
        self._accepting.start()

    @classmethod
    def for_url(cls, url: str) -> FaultProxy:
        u = sa.engine.make_url(url)
        return cls(u.host or "127.0.0.1", u.port or 5432)

    def url(self, url: str) -> str:
        """``url`` with its host and port replaced by the proxy's."""
        u = sa.engine.make_url(url).set(host="127.0.0.1", port=self.port)
        return u.render_as_string(hide_password=False)

    def pause(self) -> None:
        self._to_server.clear()
        self._to_client.clear()

    def hold_replies(self) -> None:
        self._to_client.clear()

    def resume(self) -> None:
        self._to_server.set()
        self._to_client.set()

    def drop(self) -> None:
        with self._lock:
            socks, self._sockets = list(self._sockets), set()
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._closed = True
        self.resume()
        with contextlib.suppress(OSError):  # wakes the accepting thread (Linux)
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._accepting.join(timeout=5)
        self.drop()

    def _track(self, *socks: socket.socket) -> None:
        with self._lock:
            self._sockets.update(socks)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._track(client)
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        self._to_server.wait()  # a frozen server accepts (the kernel does) but never answers
        try:
            upstream = socket.create_connection(self.target)
        except OSError:
            client.close()
            return
        self._track(upstream)
        for src, dst, gate in (
            (client, upstream, self._to_server),
            (upstream, client, self._to_client),
        ):
            threading.Thread(target=self._pump, args=(src, dst, gate), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, gate: threading.Event) -> None:
        try:
            while True:
                data = src.recv(65536)
                gate.wait()
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def terminate_backends(admin_url: str, database: str) -> int:
    """``pg_terminate_backend`` every session on ``database`` (a test's scratch database)
    but the admin's own; returns how many were ended."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": database},
                ).scalar_one()
            )
    finally:
        admin.dispose()
