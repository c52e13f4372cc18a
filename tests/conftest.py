"""Shared pytest fixtures. Keep each one small and say what real thing it provides."""

from __future__ import annotations

import os
import socket

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach the Hub

try:  # `tests` is a package when run from the repo root with -m, a plain dir under pytest
    from tests.fixtures.ollama_server import OllamaFixtureServer
except ImportError:  # pragma: no cover - depends on how pytest put tests/ on sys.path
    from fixtures.ollama_server import OllamaFixtureServer


@pytest.fixture(scope="session")
def ollama_fixture_session():
    """One Ollama-protocol TEST FIXTURE server (real HTTP, random port) for the whole session."""
    with OllamaFixtureServer() as server:
        yield server


@pytest.fixture
def ollama_server(ollama_fixture_session, monkeypatch):
    """The fixture server with no faults and zeroed counters; OLLAMA_HOST points at it."""
    ollama_fixture_session.reset()
    monkeypatch.setenv("OLLAMA_HOST", ollama_fixture_session.url)
    yield ollama_fixture_session
    ollama_fixture_session.reset()


@pytest.fixture
def ollama_server_class() -> type[OllamaFixtureServer]:
    """For a test that needs a server of its own (e.g. to switch it off mid-test)."""
    return OllamaFixtureServer


@pytest.fixture
def dead_host() -> str:
    """An address where nothing listens (connection refused): a port we bound, then released."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def llamacpp_server():
    """llama.cpp's real OpenAI-compatible HTTP server (xllamacpp) with the embedded GGUF, on
    127.0.0.1 at a free port, once per session: ``.url`` ends in /v1, ``.model`` is the model id."""
    try:
        from tests.fixtures.llamacpp_server import LlamaCppServer
    except ImportError:  # pragma: no cover
        from fixtures.llamacpp_server import LlamaCppServer
    return LlamaCppServer()


@pytest.fixture
def openai_env(monkeypatch):
    """No OPENAI_*/GPTA_LLM_* settings leak in or out of a test (the CLI flags set them)."""
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "GPTA_LLM_REVISION", "GPTA_LLM_CACHE_UNIDENTIFIED"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return monkeypatch


_CALIBRATION: list[str] = []


@pytest.fixture
def calibration_report() -> list[str]:
    """Lines the calibration tests (tests/test_calibration.py) print in pytest's terminal summary."""
    return _CALIBRATION


def pytest_terminal_summary(terminalreporter):
    if _CALIBRATION:
        terminalreporter.section("calibration of the scorecard's tests (simulated)")
        for line in _CALIBRATION:
            terminalreporter.write_line(line)
