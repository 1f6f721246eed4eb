"""What frond's HTTP stand-ins (Loki, the Kubernetes API) share: a threaded
HTTP server on 127.0.0.1, HTTPS when given (certfile, keyfile), that a test
can take down (port closed) and bring back on the same port.
"""

import http.server
import socketserver
import ssl
import sys
import threading
import time


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def handle_error(self, request, client_address):
        # A client hanging up (a binary killed, a connection dropped on
        # purpose) is part of the tests, not an error worth a traceback.
        if not isinstance(sys.exc_info()[1], (ConnectionError, OSError)):
            super().handle_error(request, client_address)


class HttpStandin:
    """Lifecycle of a stand-in. Subclasses set `port` (0: any free one) and
    `tls` ((certfile, keyfile) or None), and define `_handler_class()`."""

    port = 0
    tls = None
    _server = None
    _thread = None

    def start(self):
        self._server = Server(("127.0.0.1", self.port), self._handler_class())
        self.port = self._server.server_address[1]
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def close_port(self):
        """Stop serving and close the listening socket (open connections stay)."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def come_back(self):
        """Listen again on the same port (retried while the kernel still holds it)."""
        deadline = time.monotonic() + 10
        while True:
            try:
                return self.start()
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _handler_class(self):
        raise NotImplementedError
