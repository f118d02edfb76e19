"""Request bodies read within the upload limit, whatever their framing: the service's request class.

Werkzeug cuts a body sent without a Content-Length (chunked) at MAX_CONTENT_LENGTH and reads on as if it
had ended there, and lets the server's own exception through when the server cannot read a body (a
malformed chunked encoding under gunicorn), which makes a 500. Here the first is a 413 and the second a 400.
"""

import io
from typing import IO

from flask import Request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream


class ClientBody(io.RawIOBase):
    """The server's input stream, refused past `limit` bytes; an error reading it is the client's."""

    def __init__(self, stream: IO[bytes], limit: int | None):
        self._stream = stream
        self._limit = limit
        self._read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._stream.read(len(buffer))
        # Whatever the server raises: gunicorn's parse errors derive from Exception alone.
        except Exception as error:
            raise BadRequest(f"The request body could not be read ({error}); check how it is framed.") from error
        self._read += len(data)
        if self._limit is not None and self._read > self._limit:
            raise RequestEntityTooLarge()
        buffer[: len(data)] = data
        return len(data)


class BoundedRequest(Request):
    @cached_property
    def stream(self) -> IO[bytes]:
        limit = self.max_content_length
        if self.content_length is not None:
            if limit is not None and self.content_length > limit:
                raise RequestEntityTooLarge()
            return LimitedStream(ClientBody(self.environ["wsgi.input"], None), self.content_length)
        if "wsgi.input_terminated" not in self.environ:
            # Neither a length nor a server that ends the stream: nothing can be read safely (as Werkzeug).
            return io.BytesIO()
        return ClientBody(self.environ["wsgi.input"], limit)
