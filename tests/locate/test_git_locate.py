"""locate() against a real git repository built in a temp dir with several authors and fixed dates."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from incidentlens.errors import ConfigError, RepositoryError
from incidentlens.locate import Git, locate, open_repository, parse_catalog
from incidentlens.locate.frames import FileIndex, is_library_frame, strip_container_prefix
from incidentlens.model.enums import OwnerSource


@dataclass(frozen=True)
class Frame:
    file: str
    line: int | None
    function: str
    is_library: bool = False


def _ns(iso: str) -> int:
    return int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp()) * 1_000_000_000


ONSET_NS = _ns("2026-01-10T00:00:00")
BUG_LINE = 11
CHARGE_V1 = [f"# line {n}" for n in range(1, 21)]
CHARGE_V1[9] = "def charge(amount, quantity):"
CHARGE_V1[10] = "    return amount * quantity"
CATALOG = """services:
  payment: {path: services/payment, team: payments, owner: "@shop/payments", oncall: "@dana", tier: production}
  cart: {path: services/cart, team: cart, owner: "@shop/cart"}
"""
CODEOWNERS = "* @shop/platform\n/services/payment/ @shop/payments-eng\n/services/legacy/\n"


def _git(repo: Path, *args: str, author: str = "alice", when: str = "2026-01-01T10:00:00") -> str:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME=author,
        GIT_AUTHOR_EMAIL=f"{author}@shop.example",
        GIT_COMMITTER_NAME=author,
        GIT_COMMITTER_EMAIL=f"{author}@shop.example",
        GIT_AUTHOR_DATE=f"{when}+00:00",
        GIT_COMMITTER_DATE=f"{when}+00:00",
        GIT_CONFIG_NOSYSTEM="1",
    )
    cmd = ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args]
    return subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True, text=True).stdout.strip()


def _write(repo: Path, rel: str, text: str) -> None:
    target = repo / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def _commit(repo: Path, message: str, author: str, when: str) -> str:
    _git(repo, "add", "-A", author=author, when=when)
    _git(repo, "commit", "-q", "-m", message, author=author, when=when)
    return _git(repo, "rev-parse", "HEAD")


@dataclass(frozen=True)
class Repo:
    path: Path
    bug_sha: str
    docs_sha: str
    before_onset_sha: str
    after_onset_sha: str


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    path = tmp_path_factory.mktemp("shop")
    _git(path, "init", "-q")
    _write(path, "services/payment/charge.py", "\n".join(CHARGE_V1) + "\n")
    _write(path, "services/cart/cart.py", "def add():\n    pass\n")
    _write(path, "services/legacy/old.py", "x = 1\n")
    _write(path, "java/src/main/java/com/shop/payment/Refund.java", "package com.shop.payment;\n\nclass Refund {}\n")
    _write(path, "java/src/main/java/com/shop/cart/Refund.java", "package com.shop.cart;\n\nclass Refund {}\n")
    _write(path, ".github/CODEOWNERS", CODEOWNERS)
    _write(path, "incidentlens.yaml", CATALOG)
    _commit(path, "initial import", "alice", "2026-01-01T10:00:00")
    _write(path, "services/cart/cart.py", "def add():\n    return 1\n")
    _commit(path, "cart: return count", "bob", "2026-01-05T09:00:00")
    buggy = list(CHARGE_V1)
    buggy[10] = "    return amount / quantity  # per-unit price"
    _write(path, "services/payment/charge.py", "\n".join(buggy) + "\n")
    bug = _commit(path, "payment: charge per unit", "carol", "2026-01-09T12:00:00")
    _write(path, "services/payment/README.md", "Payment service\n")
    docs = _commit(path, "payment: docs", "dave", "2026-01-09T18:00:00")
    buggy[1] = "# reformatted header"
    buggy.insert(0, "# new first line shifts everything after onset")
    _write(path, "services/payment/charge.py", "\n".join(buggy) + "\n")
    after = _commit(path, "payment: tidy after the incident", "erin", "2026-01-10T12:00:00")
    return Repo(path, bug, docs, docs, after)


def test_python_frame_locates_line_bug_commit_and_owners(repo: Repo) -> None:
    frames = [
        Frame("/usr/lib/python3.12/site-packages/flask/app.py", 880, "full_dispatch_request"),
        Frame("/app/services/payment/charge.py", BUG_LINE, "charge"),
    ]
    result = locate(repo.path, service="payment", frames=frames, onset_ns=ONSET_NS)

    assert result.library_frames == 1
    assert result.service_folder == "services/payment"
    loc = result.locations[0]
    assert (loc.path, loc.line, loc.end_line, loc.function) == ("services/payment/charge.py", BUG_LINE, 11, "charge")
    # Lines are read as deployed at onset, not at HEAD (where a line was inserted above).
    assert loc.commit == repo.before_onset_sha
    assert f"> {BUG_LINE} |     return amount / quantity" in loc.snippet
    assert len(loc.snippet.splitlines()) == 5
    assert loc.confidence > 0.8

    assert result.suspect_commits[0].sha == repo.bug_sha
    assert result.suspect_commits[0].author == "carol <carol@shop.example>"
    assert "blame" in result.suspect_commits[0].why
    assert "services/payment/charge.py:11" in result.suspect_commits[0].why
    assert repo.after_onset_sha not in {s.sha for s in result.suspect_commits}

    names = [(o.name, o.source) for o in result.owners]
    assert names[0] == ("@shop/payments-eng", OwnerSource.CODEOWNERS)
    assert names[1] == ("@shop/payments", OwnerSource.CATALOG)
    assert result.owners[1].contact == "@dana"
    assert ".github/CODEOWNERS:2" in result.owners[0].why
    committers = [o.name for o in result.owners if o.source is OwnerSource.COMMITTERS]
    assert set(committers) == {"alice", "carol", "erin"}
    assert any("last commit before onset" in n for n in result.notes)


def test_java_frame_resolves_through_package_path(repo: Repo) -> None:
    frames = [
        Frame("Thread.java", 833, "java.lang.Thread.run"),
        Frame("Refund.java", 3, "com.shop.payment.Refund.process"),
    ]
    result = locate(repo.path, service=None, frames=frames, onset_ns=ONSET_NS)
    assert result.library_frames == 1
    assert [loc.path for loc in result.locations] == ["java/src/main/java/com/shop/payment/Refund.java"]
    assert "class Refund" in result.locations[0].snippet


def test_frames_from_the_stack_model_resolve(repo: Repo) -> None:
    """`model.stack.Frame` splits JVM symbols into module (package.Class) and function."""
    stack = pytest.importorskip("incidentlens.model.stack")
    frames = [
        stack.Frame(file="Thread.java", line=833, function="run", module="java.lang.Thread"),
        stack.Frame(file="Refund.java", line=3, function="process", module="com.shop.cart.Refund"),
    ]
    result = locate(repo.path, service="cart", frames=frames, onset_ns=ONSET_NS)
    assert result.library_frames == 1
    assert [loc.path for loc in result.locations] == ["java/src/main/java/com/shop/cart/Refund.java"]
    assert result.locations[0].function == "process"


def test_service_without_frames_uses_folder_history(repo: Repo) -> None:
    result = locate(repo.path, service="payment", frames=[], onset_ns=ONSET_NS, lookback_hours=24)
    assert result.locations == ()
    shas = [s.sha for s in result.suspect_commits]
    assert shas == [repo.docs_sha, repo.bug_sha]  # both touched the folder in the window, newest first
    assert all("window" in s.why for s in result.suspect_commits)
    assert result.owners[0].name == "@shop/payments-eng"


def test_lookback_window_excludes_older_commits(repo: Repo) -> None:
    frames = [Frame("/srv/services/payment/charge.py", 1, "<module>")]
    result = locate(repo.path, service="payment", frames=frames, onset_ns=ONSET_NS, lookback_hours=6)
    top = result.suspect_commits[0]
    assert top.author.startswith("alice")  # line 1 was last changed by the initial import ...
    assert "older than the look-back window" in top.why  # ... which is outside the 6 h window


def test_not_a_repository_raises_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RepositoryError, match="not a git repository"):
        locate(tmp_path, service="payment", frames=[], onset_ns=ONSET_NS)
    with pytest.raises(RepositoryError, match="does not exist"):
        open_repository(tmp_path / "missing")


def test_shallow_clone_works_with_a_note(repo: Repo, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    _git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone))
    frames = [Frame("/app/services/payment/charge.py", BUG_LINE + 1, "charge")]
    result = locate(clone, service="payment", frames=frames, onset_ns=ONSET_NS)
    assert result.locations[0].path == "services/payment/charge.py"
    assert any("shallow clone" in n for n in result.notes)
    assert any("newer than the onset" in n for n in result.notes)


def test_git_timeouts_are_configured_and_enforced(repo: Repo) -> None:
    assert open_repository(repo.path, timeout=7).timeout == 7
    slow = Git(open_repository(repo.path).root, timeout=1e-9)
    with pytest.raises(RepositoryError, match="timed out"):
        slow.ls_files()


def test_ls_files_is_cached_per_head(repo: Repo) -> None:
    git = open_repository(repo.path)
    first = git.ls_files()
    assert git.ls_files() is first
    assert "services/payment/charge.py" in first


def test_catalog_errors_name_file_and_key(repo: Repo, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"incidentlens.yaml: `services.payment.path` is required"):
        parse_catalog("services:\n  payment: {team: payments}\n")
    with pytest.raises(ConfigError, match=r"unknown key `services.cart.owners`"):
        parse_catalog("services:\n  cart: {path: x, owners: y}\n")
    with pytest.raises(ConfigError, match=r"incidentlens.yaml:2: not valid YAML"):
        parse_catalog("services:\n\tpayment: {path: x}\n")
    bad = tmp_path / "bad"
    bad.mkdir()
    _git(bad, "init", "-q")
    _write(bad, "incidentlens.yaml", "services:\n  payment: {path: ../outside}\n")
    _commit(bad, "catalog", "alice", "2026-01-01T00:00:00")
    with pytest.raises(ConfigError, match=r"bad/incidentlens.yaml: `services.payment.path` must stay inside"):
        locate(bad, service="payment", frames=[], onset_ns=None)


@pytest.mark.parametrize(
    ("file", "function", "library"),
    [
        ("/usr/local/lib/python3.12/site-packages/requests/api.py", "get", True),
        ("/usr/lib/python3.11/json/decoder.py", "decode", True),
        ("/app/node_modules/express/lib/router.js", "handle", True),
        ("node:internal/process/task_queues", "processTicks", True),
        ("/go/pkg/mod/google.golang.org/grpc@v1.64.0/server.go", "processUnaryRPC", True),
        ("/usr/local/go/src/runtime/panic.go", "runtime.gopanic", True),
        ("/src/vendor/github.com/x/y.go", "y.Z", True),
        ("ThreadPoolExecutor.java", "java.util.concurrent.ThreadPoolExecutor.runWorker", True),
        ("/app/services/payment/charge.py", "charge", False),
        ("CartService.java", "com.example.shop.CartService.emptyCart", False),
    ],
)
def test_library_frames_are_recognised(file: str, function: str, library: bool) -> None:
    assert is_library_frame(file, function) is library


def test_container_prefixes_and_suffix_matching() -> None:
    assert strip_container_prefix("/usr/src/app/main.go") == "main.go"
    assert strip_container_prefix("/home/dana/shop/services/x.py") == "shop/services/x.py"
    index = FileIndex(["services/cart/main.go", "services/checkout/main.go", "tools/main.go"])
    match = index.resolve("/usr/src/app/services/checkout/main.go")
    assert match is not None and match.path == "services/checkout/main.go" and match.ambiguous == 0
    vague = index.resolve("/usr/src/app/main.go")
    assert vague is not None and vague.ambiguous == 2 and vague.confidence < 0.4
    assert index.resolve("/app/unknown.py") is None
