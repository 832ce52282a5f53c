"""The console in a real browser (Debian chromium through Playwright, headless) against a real uvicorn server.

Two approvers under a two-person policy, the git_branch executor, a refuted hypothesis that stays visible,
and a log line carrying <script> that stays inert. Skips when /usr/bin/chromium is absent (CI installs it);
a failing step leaves a screenshot in the test's tmp_path.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"browser tests need Debian chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

uvicorn = pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")

from incidentlens.web.app import create_app  # noqa: E402 - after the skips
from incidentlens.web.settings import load_web_settings  # noqa: E402


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "web" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


support = _load("console_workspace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return support.build_workspace(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def server(space: Any) -> Iterator[str]:
    settings = load_web_settings(config=space.config, workspace=space.workspace, database_url=None)
    port = _free_port()
    config = uvicorn.Config(create_app(settings, run_worker=False), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[list[Any]]:
    """Pages registered here are screenshotted into tmp_path when the test fails."""
    pages: list[Any] = []
    yield pages
    report = getattr(request.node, "rep_call", None)  # set by conftest.py
    if report is not None and report.failed:
        for i, page in enumerate(pages):
            path = tmp_path / f"failure-{i}.png"
            page.screenshot(path=str(path), full_page=True)
            print(f"screenshot: {path}")


def login(browser: Any, server: str, user: str, shots: list[Any]) -> Any:
    page = browser.new_context().new_page()
    shots.append(page)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    errors: list[str] = []  # Content-Security-Policy violations are reported as console errors
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.console_errors = errors
    page.goto(f"{server}/incidents/INC-0001")
    assert "/login" in page.url
    page.get_by_label("User name").fill(user)
    page.get_by_label("Token").fill(support.TOKENS[user])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server}/incidents/INC-0001")
    assert page.get_by_test_id("user").inner_text() == user
    return page


def fix_article(page: Any, pid: str) -> Any:
    return page.locator(f"#fix-{pid}")


def test_two_approvers_branch_refute_and_inert_xss(browser: Any, server: str, space: Any, shots: list[Any]) -> None:
    pid = space.revert_id
    alice = login(browser, server, "alice", shots)
    fix = fix_article(alice, pid)
    fix.get_by_label("Comment").fill("revert is safe")
    fix.get_by_role("button", name="Approve").click()
    alice.wait_for_load_state()
    assert "alice approved" in alice.get_by_test_id("done").inner_text()
    assert "1 more approver(s) required" in fix_article(alice, pid).get_by_test_id("policy").inner_text()

    bob = login(browser, server, "bob", shots)
    fix_article(bob, pid).get_by_role("button", name="Approve").click()
    bob.wait_for_load_state()
    assert "Policy satisfied" in fix_article(bob, pid).get_by_test_id("policy").inner_text()

    carol = login(browser, server, "carol", shots)
    fix = fix_article(carol, pid)
    fix.get_by_label("Executor").select_option("git_branch")
    fix.get_by_role("button", name="Execute").click()
    carol.wait_for_load_state()
    branch = f"incidentlens/INC-0001-{pid.rsplit('-', 1)[-1]}"
    assert branch in fix_article(carol, pid).get_by_test_id("execution").inner_text()
    listed = subprocess.run(["git", "branch", "--list", branch], cwd=space.repo, capture_output=True, text=True)
    assert branch in listed.stdout

    hid = space.other_hypothesis
    card = carol.locator(f"#h-{hid}")
    card.get_by_label("Why it is wrong (required)").fill("errors start downstream of it")
    card.get_by_role("button", name="Refute").click()
    carol.wait_for_load_state()
    card = carol.locator(f"#h-{hid}")
    assert card.is_visible() and card.get_by_test_id("hypothesis-status").inner_text() == "refuted"
    assert "errors start downstream of it" in card.get_by_test_id("decision-comment").inner_text()

    excerpts = " ".join(carol.get_by_test_id("excerpt").all_inner_texts())
    assert "<script>alert('xss')</script>" in excerpts  # shown as text
    assert carol.locator("main script").count() == 0 and carol.locator("main img").count() == 0
    assert carol.dialogs == [] and alice.dialogs == [] and bob.dialogs == []
    assert carol.console_errors == [] and alice.console_errors == [] and bob.console_errors == []


SIZES = {"desktop": (1440, 900), "phone": (390, 844)}


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.mark.parametrize("size", sorted(SIZES))
def test_incident_page_leads_with_the_head_and_reads_at_desktop_and_phone_size(
    browser: Any, server: str, tmp_path: Path, size: str, shots: list[Any]
) -> None:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    page = context.new_page()
    shots.append(page)
    page.goto(f"{server}/login?next=/incidents/INC-0001")
    page.get_by_label("User name").fill("vera")
    page.get_by_label("Token").fill(support.TOKENS["vera"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server}/incidents/INC-0001")
    head = page.get_by_test_id("head")
    box = head.bounding_box()
    assert box is not None and box["y"] < height * 0.5, box  # the five lines start in the first half-screen
    for label in ("What broke", "Since", "Leading hypothesis", "Page", "Next"):
        assert head.get_by_text(label, exact=True).is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling of the page
    assert not page.locator("#sec-audit").locator("xpath=../..").evaluate("d => d.open")  # the rest is folded
    shot = tmp_path / f"incident-{size}.png"
    data = page.screenshot(path=str(shot))
    assert _png_size(data) == (width, height) and len(data) > 20_000  # a drawn page, not a blank one
    page.goto(f"{server}/metrics")
    overflow = page.evaluate(
        """() => [...document.querySelectorAll('svg')].flatMap(svg => {
            const w = svg.viewBox.baseVal.width;
            return [...svg.querySelectorAll('text')].filter(t => t.getBBox().x + t.getBBox().width > w + 1)
                .map(t => t.textContent);
        })"""
    )
    assert overflow == []  # no label or legend drawn past its picture's edge
    shot = tmp_path / f"metrics-{size}.png"
    assert _png_size(page.screenshot(path=str(shot))) == (width, height)
    context.close()


def test_console_works_under_the_content_security_policy(
    browser: Any, server: str, space: Any, shots: list[Any]
) -> None:
    page = login(browser, server, "alice", shots)
    violations = page.evaluate(
        """() => new Promise(done => {
            const seen = [];
            document.addEventListener('securitypolicyviolation', e => seen.push(e.violatedDirective));
            setTimeout(() => done(seen), 300);
        })"""
    )
    assert violations == []
    assert page.evaluate("typeof window.htmx") == "object"  # the vendored script runs under script-src 'self'
    widths = page.locator(".bar span").evaluate_all("els => els.map(e => e.getBoundingClientRect().width)")
    assert widths and max(widths) > 0  # confidence bars keep their inline width
    response = page.goto(f"{server}/metrics")
    assert response is not None and "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.wait_for_load_state()
    assert page.console_errors == []
