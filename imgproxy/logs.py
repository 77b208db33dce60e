"""Where log lines go and how they look: one JSON object or one text line each, on stderr."""

from __future__ import annotations

import logging
import threading
import time
from functools import lru_cache
from json.encoder import c_make_encoder, encode_basestring_ascii
from typing import Any, TypeGuard

from imgproxy.config import LogSettings

REQUESTS_LOGGER = "imgproxy.requests"
REQUESTS_LOG = logging.getLogger(REQUESTS_LOGGER)

# No line shows a thread, a process or an asyncio task: every LogRecord skips looking them up,
# a third of its cost on the request lines of hot answers.
logging.logThreads = False
logging.logProcesses = False
logging.logMultiprocessing = False


def _unencodable(value: object) -> object:
    raise TypeError(f"{type(value).__name__} is not JSON")


# CPython's C encoder, made once (json.dumps makes one per call): request lines are encoded on
# the fastest path of the server. Compact, ASCII only, no check for cycles.
_encoder = c_make_encoder(
    None, _unencodable, encode_basestring_ascii, None, ":", ",", False, False, True
)


def encode_json(value: Any) -> str:
    return "".join(_encoder(value, 0))


@lru_cache(maxsize=2)
def _second(whole: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))


def stamp(moment: float) -> str:
    """`moment` (seconds since the epoch) in UTC ISO 8601 with milliseconds."""
    whole = int(moment)
    return f"{_second(whole)}.{int((moment - whole) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """The server's own messages as one JSON object a line, like the request lines."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": stamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return encode_json(line)


class TextFormatter(logging.Formatter):
    """The server's own messages after the same time and level as the request lines."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{stamp(record.created)} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


class BatchedLines(logging.StreamHandler):
    """Writes lines in batches, one system call for many: a batch goes out `flush_ms` after its
    first line, when it reaches `max_bytes`, with an error line, and on `flush()` (the server's
    shutdown calls it). A busy server would otherwise spend a write on every request."""

    def __init__(self, flush_ms: int = 0, max_bytes: int = 64 * 1024) -> None:
        super().__init__()
        self.delay_s = flush_ms / 1000
        self.max_bytes = max_bytes
        self._batch: list[str] = []
        self._size = 0
        # Set while a batch waits for its delay; one thread, started with the first batch,
        # writes each batch once its delay has passed.
        self._waiting = threading.Event()
        self._flusher: threading.Thread | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        # Handler.handle holds self.lock around emit.
        self._add(line, record.levelno)

    def add(self, line: str, level: int) -> None:
        """A finished line, without a LogRecord: the server's request lines come this way."""
        with self.lock:
            self._add(line, level)

    def _add(self, line: str, level: int) -> None:
        self._batch.append(line + self.terminator)
        self._size += len(line) + 1
        if not self.delay_s or level >= logging.ERROR or self._size >= self.max_bytes:
            self._write()
        elif not self._waiting.is_set():
            self._waiting.set()
            if self._flusher is None:
                # Not a timer per batch: starting a thread waits for it to take the GIL, which
                # the event loop would do several times a second behind busy render threads.
                self._flusher = threading.Thread(target=self._flush_batches, daemon=True)
                self._flusher.start()

    def flush(self) -> None:
        with self.lock:
            self._write()

    def _flush_batches(self) -> None:
        while True:
            self._waiting.wait()
            time.sleep(self.delay_s)
            self.flush()

    def _write(self) -> None:
        self._waiting.clear()
        if self._batch:
            text = "".join(self._batch)
            self._batch.clear()
            self._size = 0
            self.stream.write(text)
        super().flush()


def write_request_line(line: str, level: int) -> None:
    """A finished request line to the requests logger: straight into its batch when a batch is
    all the logger has (the server's set-up), else as a LogRecord to whatever handles it."""
    handlers = REQUESTS_LOG.handlers
    if len(handlers) == 1 and _batch_only(handlers[0], level) and not REQUESTS_LOG.filters:
        handlers[0].add(line, level)
    else:
        # Without Logger.log's search of the stack for the caller, which no line shows.
        record = REQUESTS_LOG.makeRecord(REQUESTS_LOGGER, level, "", 0, line, (), None)
        REQUESTS_LOG.handle(record)


def _batch_only(handler: logging.Handler, level: int) -> TypeGuard[BatchedLines]:
    return type(handler) is BatchedLines and not handler.filters and level >= handler.level


def flush_request_lines() -> None:
    for handler in REQUESTS_LOG.handlers:
        handler.flush()


FORMATTERS: dict[str, type[logging.Formatter]] = {"json": JsonFormatter, "text": TextFormatter}


def logging_config(log: LogSettings) -> dict[str, Any]:
    """For logging.config.dictConfig and uvicorn's log_config: imgproxy's, uvicorn's and huey's
    loggers write in the chosen format; request lines come finished and are written as they are;
    uvicorn's access log writes nothing, since the request lines say more."""
    level = log.level.upper()
    formatted = {"handlers": ["default"], "level": level, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "default": {"()": FORMATTERS[log.format]},
            "line": {"format": "%(message)s"},
        },
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "default"},
            "requests": {
                "class": "imgproxy.logs.BatchedLines",
                "formatter": "line",
                "flush_ms": log.flush_ms,
            },
        },
        "loggers": {
            "imgproxy": formatted,
            REQUESTS_LOGGER: {"handlers": ["requests"], "level": level, "propagate": False},
            "uvicorn": formatted,
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "propagate": False},
            "huey": formatted,
        },
        "root": {"handlers": ["default"], "level": "WARNING"},
    }
