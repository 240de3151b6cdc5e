# Long-lived Python interpreter driven by sandbox-execd.
#
# Protocol (fd 3, a socket pair shared with the server, newline-delimited JSON):
#   server -> driver  {"id": int, "code": str, "env": {str: str}, "sentinel": str}
#   driver -> server  {"type": "ready"}                                  once, at start
#                     {"type": "result", "id", "mimeType", "data"}        rich values
#                     {"type": "done", "id", "exitCode", "error"}         end of a call
# User output is left on the real fds 1 and 2 so that prints, C extensions and child
# processes all stream to the server in order. At the end of a call the driver writes
# the call's sentinel on both fds; the server knows the call's output is complete once
# it has seen both sentinels and the "done" message.
import ast
import base64
import io
import json
import os
import signal
import socket
import sys
import traceback
import warnings

# Agg renders figures without a display; plt.show() becomes a no-op we must not warn about.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message=".*non-interactive.*")
warnings.filterwarnings("ignore", message=".*cannot be shown.*")

CHANNEL = socket.socket(fileno=3)
READER = CHANNEL.makefile("rb")
USER_GLOBALS = {"__name__": "__main__", "__builtins__": __builtins__}


def send(message):
    CHANNEL.sendall((json.dumps(message) + "\n").encode("utf-8"))


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
    if value is None:
        return []
    try:
        text = repr(value)
    except Exception as error:  # a broken __repr__ must not lose the call
        text = "<unrepresentable %s: %s>" % (type(value).__name__, error)
    results = [{"mimeType": "text/plain", "data": text}]
    # A figure as the last expression is already rendered by figure_results.
    return results if type(value).__module__.split(".")[0] != "matplotlib" else []


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
        exit_code, error, results = run_call(request)
        for result in results:
            send({"type": "result", "id": request["id"], **result})
        for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):
            try:
                stream.flush()
            except Exception:
                pass
            os.write(fd, request["sentinel"].encode("utf-8"))
        send({"type": "done", "id": request["id"], "exitCode": exit_code, "error": error})


main()
