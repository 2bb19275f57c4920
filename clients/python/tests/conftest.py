"""A real Vitrine server for the whole session: ``$VITRINE_BIN --data-dir TMP serve --listen
127.0.0.1:PORT`` with an admin key and a search key, ready before the first test, stopped with
SIGTERM after the last. The shop index is imported once, from a polars DataFrame."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from vitrine import Client, ImportSummary

from .catalog import PRODUCTS

STARTUP_SECONDS = 60
SHUTDOWN_SECONDS = 30


@dataclass(frozen=True)
class Server:
    url: str
    admin_key: str
    search_key: str
    binary: Path
    data_dir: Path
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _binary() -> Path:
    value = os.environ.get("VITRINE_BIN")
    if not value:
        pytest.fail("VITRINE_BIN is not set: point it at a built vitrine binary (target/debug/vitrine)", pytrace=False)
    binary = Path(value)
    if not binary.is_file() or not os.access(binary, os.X_OK):
        pytest.fail(f"VITRINE_BIN={value} is not an executable file", pytrace=False)
    return binary.resolve()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def vitrine_bin() -> Path:
    return _binary()


@pytest.fixture(scope="session")
def server(vitrine_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("vitrine")
    port = _free_port()
    info = Server(
        url=f"http://127.0.0.1:{port}",
        admin_key=secrets.token_urlsafe(24),
        search_key=secrets.token_urlsafe(24),
        binary=vitrine_bin,
        data_dir=root / "data",
        log=root / "server.log",
    )
    # Only the keys from this environment: a developer's VITRINE_* variables stay out.
    env = {name: value for name, value in os.environ.items() if not name.startswith("VITRINE_")}
    env |= {"VITRINE_ADMIN_KEY": info.admin_key, "VITRINE_SEARCH_KEY": info.search_key}
    command = [str(vitrine_bin), "--data-dir", str(info.data_dir), "serve", "--listen", f"127.0.0.1:{port}"]
    with info.log.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_until_ready(process, info)
    except BaseException:
        _stop(process)
        raise
    yield info
    returncode = _stop(process)
    if returncode is None:
        pytest.fail(f"the server did not stop within {SHUTDOWN_SECONDS} s of SIGTERM (killed)", pytrace=False)
    if returncode != 0:
        pytest.fail(f"the server exited with {returncode} on SIGTERM:\n{info.log_tail()}", pytrace=False)


def _wait_until_ready(process: subprocess.Popen[bytes], info: Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    with Client(info.url) as probe:
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited with {process.returncode}:\n{info.log_tail()}", pytrace=False)
            try:
                probe.wait_until_ready(timeout=0.5)
                return
            except TimeoutError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the server was not ready in {STARTUP_SECONDS} s:\n{info.log_tail()}", pytrace=False)


def _stop(process: subprocess.Popen[bytes]) -> int | None:
    """Stops the server with SIGTERM: its exit status, or ``None`` if it had to be killed."""
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=SHUTDOWN_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


@pytest.fixture(scope="session")
def admin(server: Server) -> Iterator[Client]:
    with Client(server.url, api_key=server.admin_key, actor="pytest") as client:
        yield client


@pytest.fixture(scope="session")
def search_client(server: Server) -> Iterator[Client]:
    with Client(server.url, api_key=server.search_key) as client:
        yield client


@pytest.fixture(scope="session")
def products_frame() -> pl.DataFrame:
    return pl.DataFrame(PRODUCTS)


SHOP = "shop"


@pytest.fixture(scope="session")
def shop_import(admin: Client, products_frame: pl.DataFrame) -> ImportSummary:
    """The shop index, imported from a polars DataFrame, with `colour` declared as a facet."""
    summary = admin.import_products(SHOP, products_frame, batch_size=5)
    admin.put_settings_part(SHOP, "facets", {**admin.get_settings_part(SHOP, "facets"), "attributes": ["colour"]})
    return summary


@pytest.fixture(scope="session")
def shop(shop_import: ImportSummary) -> str:
    return SHOP
