# Long-lived Python interpreter driven by sandbox-execd.
#
# Protocol (fd 3, a socket pair shared with the server, newline-delimited JSON):
#   server -> driver  {"id": int, "code": str, "env": {str: str}, "sentinel": str}
#   driver -> server  {"type": "ready"}                                  once, at start
#                     {"type": "result", "id", "mimeType", "data"}        rich values
#                     {"type": "stream", "id", "name", "text"}            sys.stdout/err writes
#                     {"type": "done", "id", "exitCode", "error", "sentinels"}  end of a call
# Python-level writes (print, sys.stderr.write) travel on fd 3 as "stream" messages, so
# stdout and stderr keep their relative order. Output written straight to fds 1 and 2 (child
# processes, C extensions) still streams through the pipes. At the end of a call the driver
# asks each pipe whether the server has read everything written to it so far; on a pipe that
# still holds output it writes the call's sentinel after that output. "sentinels" in "done"
# names the pipes that got one; the server knows the call's output is complete once it has
# seen those sentinels and the "done" message. The end of a call (results, the streams' last
# text, "done") goes out as one write: each separate write is a wake-up of the server, which
# under gVisor costs a good fraction of a millisecond.
import array
import ast
import base64
import fcntl
import io
import json
import os
import signal
import socket
import stat
import sys
import termios
import threading
import traceback
import warnings

def cap_memory():
    """Caps this interpreter's address space (soft and hard, so the cell cannot lift it; child
    processes inherit it): a runaway allocation becomes a MemoryError in the call instead of an
    out-of-memory kill of the whole sandbox. The server passes the cap; see memory-cap.ts."""
    cap = os.environ.pop("EXECD_KERNEL_MEMORY_BYTES", "")
    if not cap:
        return
    import resource

    limit = int(cap)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


cap_memory()

# Agg renders figures without a display; plt.show() becomes a no-op we must not warn about.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message=".*non-interactive.*")
warnings.filterwarnings("ignore", message=".*cannot be shown.*")

CHANNEL = socket.socket(fileno=3)
READER = CHANNEL.makefile("rb")
USER_GLOBALS = {"__name__": "__main__", "__builtins__": __builtins__}
SEND_LOCK = threading.Lock()
CURRENT = {"id": 0}


def encode(message):
    return (json.dumps(message) + "\n").encode("utf-8")


def send(message):
    send_encoded(encode(message))


def send_encoded(data):
    with SEND_LOCK:  # user threads may print concurrently
        CHANNEL.sendall(data)


def output_pipe(fd):
    """A private duplicate of output fd `fd` (the pipe the server reads), its identity, and the
    ioctl that says how much written to it is still unread (None where that cannot be asked).
    The duplicate stays on the pipe when the cell redirects or closes fd 1/2 (os.dup2), so the
    sentinel never lands in the cell's file."""
    try:
        info = os.fstat(fd)
        # A socket's TIOCOUTQ counts what it sent that the peer has not read yet (node's stdio
        # pipes are socket pairs); a FIFO's FIONREAD counts what is in the pipe.
        request = termios.TIOCOUTQ if stat.S_ISSOCK(info.st_mode) else termios.FIONREAD if stat.S_ISFIFO(info.st_mode) else None
        copy = os.dup(fd)  # not inherited by the cell's child processes
    except OSError:
        return None, None, None
    if request is not None:
        try:
            unread(copy, request)
        except OSError:
            request = None
    return copy, (info.st_dev, info.st_ino), request


def still_ours(fd, identity):
    """False once the cell has closed our duplicate (os.closerange) and the number may name
    something else of its own."""
    try:
        info = os.fstat(fd)
    except OSError:
        return False
    return (info.st_dev, info.st_ino) == identity


def unread(fd, request):
    count = array.array("i", [0])
    fcntl.ioctl(fd, request, count, True)
    return count[0]


OUTPUT_PIPES = (("stdout", sys.__stdout__) + output_pipe(1), ("stderr", sys.__stderr__) + output_pipe(2))


class ChannelStream(io.TextIOBase):
    """sys.stdout/sys.stderr replacement that forwards writes as ordered "stream" messages.

    Line-buffered like a terminal: text is sent at each newline, on flush() and at the end of
    the call. Before one stream sends, the other's pending text goes first, so the server sees
    stdout and stderr in the order the cell wrote them.
    """

    streams = []
    # Threads in the cell may print concurrently; pending text and its hand-off stay consistent.
    lock = threading.RLock()

    def __init__(self, name, original):
        self.name = name
        self._original = original
        self._pending = []
        # Binary writes (sys.stdout.buffer) keep using the real pipe.
        self.buffer = original.buffer
        ChannelStream.streams.append(self)

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return self._original.fileno()

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        if text:
            with ChannelStream.lock:
                for other in ChannelStream.streams:
                    if other is not self:
                        other.flush()
                self._pending.append(text)
                if "\n" in text:
                    self.flush()
        return len(text)

    def flush(self):
        with ChannelStream.lock:
            message = self.take()
            if message is not None:
                send(message)

    def take(self):
        """The pending text as a "stream" message (None if there is none), now cleared."""
        with ChannelStream.lock:
            if not self._pending:
                return None
            text = "".join(self._pending)
            self._pending = []
            return {"type": "stream", "id": CURRENT["id"], "name": self.name, "text": text}


sys.stdout = ChannelStream("stdout", sys.__stdout__)
sys.stderr = ChannelStream("stderr", sys.__stderr__)


def compile_cell(code):
    """Compiles a cell so that a trailing expression's value is returned, like a notebook."""
    tree = ast.parse(code, filename="<cell>", mode="exec")
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body.pop()
        body = compile(tree, "<cell>", "exec")
        expr = compile(ast.Expression(last.value), "<cell>", "eval")
        return body, expr
    return compile(tree, "<cell>", "exec"), None


def figure_results():
    """Renders every open matplotlib figure as PNG and closes it."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return []
    results = []
    for number in pyplot.get_fignums():
        buffer = io.BytesIO()
        pyplot.figure(number).savefig(buffer, format="png")
        results.append({"mimeType": "image/png", "data": base64.b64encode(buffer.getvalue()).decode("ascii")})
    pyplot.close("all")
    return results


def value_results(value):
    # A figure as the last expression is already rendered by figure_results.
    if value is None or type(value).__module__.split(".")[0] == "matplotlib":
        return []
    try:
        text = repr(value)
    except Exception as error:  # a broken __repr__ must not lose the call
        text = "<unrepresentable %s: %s>" % (type(value).__name__, error)
    # text/plain stays first: clients read results[0] as the value's text.
    results = [{"mimeType": "text/plain", "data": text}]
    html = html_repr(value)
    if html:
        results.append({"mimeType": "text/html", "data": html})
    return results


def html_repr(value):
    """The value's _repr_html_() (pandas DataFrames and Stylers, many libraries), or None. A
    class object is not asked: its _repr_html_ is the unbound function of its instances."""
    if isinstance(value, type):
        return None
    try:
        method = getattr(value, "_repr_html_", None)
        html = method() if callable(method) else None
    except Exception:  # a broken _repr_html_ must not lose the call; text/plain remains
        return None
    return html if isinstance(html, str) else None


def describe(error):
    # Skip the driver's own frames so tracebacks start at the user's cell.
    frames = error.__traceback__
    while frames is not None and frames.tb_frame.f_code.co_filename == __file__:
        frames = frames.tb_next
    text = "".join(traceback.format_exception(type(error), error, frames))
    return {"name": type(error).__name__, "message": str(error), "traceback": text}


def run_call(request):
    os.environ.update(request.get("env") or {})
    exit_code = 0
    error = None
    results = []
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            body, expr = compile_cell(request["code"])
            exec(body, USER_GLOBALS)
            value = eval(expr, USER_GLOBALS) if expr is not None else None
            results.extend(value_results(value))
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    except SystemExit as stop:
        exit_code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException as failure:  # KeyboardInterrupt included: the interpreter survives it
        exit_code = 1
        error = describe(failure)
        sys.stderr.write(error["traceback"])
    try:
        results = figure_results() + results
    except Exception as failure:
        error = error or describe(failure)
    return exit_code, error, results


def main():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    send({"type": "ready", "version": sys.version.split()[0]})
    for line in READER:
        request = json.loads(line)
        CURRENT["id"] = request["id"]
        exit_code, error, results = run_call(request)
        finish_call(request, exit_code, error, results)


def finish_call(request, exit_code, error, results):
    tail = [encode({"type": "result", "id": request["id"], **result}) for result in results]
    with ChannelStream.lock:
        for stream in ChannelStream.streams:
            message = stream.take()
            if message is not None:
                tail.append(encode(message))
        sentinels = []
        for name, original, fd, identity, request_unread in OUTPUT_PIPES:
            try:
                original.flush()
            except Exception:
                pass
            if fd is None or not still_ours(fd, identity):
                continue
            try:
                if request_unread is not None and unread(fd, request_unread) == 0:
                    continue  # the server has read all of it: nothing to wait for
                os.write(fd, request["sentinel"].encode("utf-8"))
                sentinels.append(name)
            except OSError:
                pass  # the server went away; nothing more to deliver
        tail.append(encode({"type": "done", "id": request["id"], "exitCode": exit_code, "error": error, "sentinels": sentinels}))
        send_encoded(b"".join(tail))


main()
