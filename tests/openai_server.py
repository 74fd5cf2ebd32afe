"""A loopback OpenAI-compatible HTTP server for tests: ``POST /v1/chat/completions``.

It is a real HTTP server (``http.server`` in a thread on 127.0.0.1, an OS-chosen port), so the
``openai`` SDK's own transport, retries and error mapping run exactly as against a real
provider. Each request is recorded (path, headers, JSON body); each answer comes from a
script of :class:`Reply` objects (first in, first out), then from ``default``.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


@dataclass
class Reply:
    """One scripted answer: an HTTP status, a JSON (or raw text) body, headers, and a delay."""

    status: int = 200
    body: Any = None  # dict -> JSON; str -> sent as is (for broken bodies)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (for timeouts)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when it was not JSON

    @property
    def prompt(self) -> str:
        """Every message's content, joined: what the model was asked."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


def completion(content: str | None, *, model: str = "fake-model-2026", finish_reason: str = "stop",
               refusal: str | None = None) -> dict[str, Any]:
    """A ``chat.completion`` object as an OpenAI-compatible server returns it."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "system_fingerprint": "fp_test",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": refusal},
            "finish_reason": finish_reason,
            "logprobs": None,
        }],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def error(status: int, message: str, *, type_: str = "invalid_request_error", code: str | None = None,
          param: str | None = None, headers: dict[str, str] | None = None) -> Reply:
    """An OpenAI-style error reply."""
    return Reply(status, {"error": {"message": message, "type": type_, "param": param, "code": code}}, headers or {})


Responder = Reply | Callable[[Recorded], Reply]


class FakeOpenAI:
    """The server. Use as a context manager, or call :meth:`start` / :meth:`stop`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.script: list[Responder] = []
        self.default: Responder = Reply(200, completion('{"cases": []}'))
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-openai", daemon=True)

    # --- control ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def reply(self, *replies: Responder) -> FakeOpenAI:
        """Queue answers for the next requests (after them, ``default`` answers)."""
        with self._lock:
            self.script.extend(replies)
        return self

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- serving ---------------------------------------------------------------------------

    def _next(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            responder = self.script.pop(0) if self.script else self.default
        return responder(recorded) if callable(responder) else responder

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw
                recorded = Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    reply = error(404, f"no route {self.path}", type_="not_found")
                else:
                    reply = fake._next(recorded)
                if reply.delay:
                    # wait, but give up early when the server is being stopped
                    fake._stopping.wait(reply.delay)
                payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                data = payload.encode("utf-8")
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

        return Handler


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then released), for 'connection refused'."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return port
