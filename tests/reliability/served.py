"""What the Python reliability tests share: a free loopback port, and waiting until a
process they started listens on it (failing with its log if it exits first)."""
import socket
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, name, log_path, seconds=20):
    """Returns once 127.0.0.1:port accepts; RuntimeError with the process's log if it exits
    before, or if nothing listens within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if process.poll() is not None:
                with open(log_path, errors="replace") as f:
                    raise RuntimeError(f"{name} exited before listening: {f.read()}")
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on port {port} within {seconds} s")
