"""A planted corpus for measuring redaction: secrets and personal data in the places telemetry carries them,
and clean telemetry lines (ids, times, versions, hashes) that must stay readable.

Values are generated from a seed (no real credentials); each planted line says which values must not survive.
"""

from __future__ import annotations

import base64
import random
import re
import string
from dataclasses import dataclass

import orjson

from incidentlens.assist.patterns import luhn_ok


@dataclass(frozen=True)
class Planted:
    family: str  # what the item is: email, phone, ip, card, aws_key, ...
    text: str
    secrets: tuple[str, ...]


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


AL = string.ascii_letters + string.digits
UP = string.ascii_uppercase + string.digits


def _card(rng: random.Random) -> str:
    while True:
        digits = rng.choice(["4", "5", "37", "6011"]) + _rand(rng, string.digits, 12)
        digits = digits[:16] if not digits.startswith("37") else digits[:15]
        if luhn_ok(digits):
            return digits


def _b64(rng: random.Random, n: int) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(n)).decode().rstrip("=")


def _jwt(rng: random.Random) -> str:
    head = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    claims = {"sub": _rand(rng, string.ascii_lowercase, 6), "iat": rng.randint(10**9, 2 * 10**9)}
    body = base64.urlsafe_b64encode(orjson.dumps(claims)).decode().rstrip("=")
    return f"{head}.{body}.{_b64(rng, 32)}"


def _private_key(rng: random.Random) -> str:
    lines = "\n".join(base64.b64encode(rng.randbytes(48)).decode() for _ in range(4))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END RSA PRIVATE KEY-----"


def _phone(rng: random.Random) -> str:
    area, mid, last = rng.randint(201, 989), rng.randint(200, 999), rng.randint(1000, 9999)
    return rng.choice(
        [
            f"+1 {area} {mid} {last}",
            f"({area}) {mid}-{last}",
            f"{area}-{mid}-{last}",
            f"+44 20 {rng.randint(7000, 8999)} {rng.randint(1000, 9999)}",
            f"+49 30 {rng.randint(100000, 999999)}",
        ]
    )


def _ipv6(rng: random.Random) -> str:
    return "2001:db8:" + ":".join(f"{rng.randint(0, 65535):x}" for _ in range(6))


def planted_corpus(seed: int = 17, per_family: int = 20) -> list[Planted]:
    rng = random.Random(seed)
    out: list[Planted] = []

    def add(family: str, text: str, *secrets: str) -> None:
        out.append(Planted(family, text, secrets))

    for _ in range(per_family):
        user = _rand(rng, string.ascii_lowercase, 6)
        email = f"{user}.{_rand(rng, string.ascii_lowercase, 5)}@{rng.choice(['corp.example', 'mail.example.org'])}"
        add("email", rng.choice([f"login failed for {email}", f'{{"user": "{email}", "ok": false}}']), email)
        phone = _phone(rng)
        add("phone", rng.choice([f"sms to {phone} failed: timeout", f"customer phone={phone} order 8812"]), phone)
        ip = f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        add("ip", rng.choice([f"connection from {ip}:{rng.randint(1024, 65535)} reset", f"client_ip={ip}"]), ip)
        v6 = _ipv6(rng)
        add("ip", f"upstream [{v6}]:443 refused", v6)
        card = _card(rng)
        shown = " ".join(card[i : i + 4] for i in range(0, len(card), 4)) if rng.random() < 0.5 else card
        add("card", rng.choice([f"charge declined card={shown}", f"payment for card {shown} failed"]), shown)
        key = "AKIA" + _rand(rng, UP, 16)
        secret = _rand(rng, AL + "/+", 40)
        add("aws", f"boto: aws_access_key_id={key} aws_secret_access_key={secret}", key, secret)
        gh = "ghp_" + _rand(rng, AL, 36)
        add("token", rng.choice([f"git clone https://{gh}@github.example/org/repo", f"GITHUB_TOKEN={gh}"]), gh)
        slack = f"xoxb-{rng.randint(10**10, 10**11)}-{rng.randint(10**10, 10**11)}-{_rand(rng, AL, 24)}"
        add("token", f"posting to slack with {slack}", slack)
        sk = "sk-proj-" + _rand(rng, AL, 40)
        add("token", f"openai error 401 for key {sk}", sk)
        stripe = "sk_live_" + _rand(rng, AL, 24)
        add("token", f"stripe.api_key = '{stripe}'", stripe)
        google = "AIza" + _rand(rng, AL + "_-", 35)
        add("token", f"maps request ?key={google}&q=berlin", google)
        bearer = _b64(rng, 30)
        add("token", f"GET /api/v1/orders Authorization: Bearer {bearer}", bearer)
        jwt = _jwt(rng)
        add("jwt", rng.choice([f"session={jwt}; Path=/", f"invalid token {jwt} (expired)"]), jwt)
        add("private_key", f"loaded key:\n{_private_key(rng)}")  # its secret is set by fix_private_keys
        pw = _rand(rng, AL + "!#%", 12)
        host = f"db-{_rand(rng, string.ascii_lowercase, 4)}.internal"
        add("url_password", f"connect postgresql://app:{pw}@{host}:5432/orders failed", pw)
        pw2 = _rand(rng, AL, 14)
        add("conn_string", f"Server={host};Database=orders;User Id=app;Password={pw2};", pw2)
        pw3 = _rand(rng, AL + "!#", 10)
        add("password_kv", rng.choice([f"config: password={pw3}", f'{{"db_password": "{pw3}"}}']), pw3)
    return out


def fix_private_keys(items: list[Planted]) -> list[Planted]:
    """Private-key items carry their first base64 line as the secret (their text holds the whole block)."""
    fixed = []
    for item in items:
        if item.family == "private_key":
            body = item.text.split("\n")[2]
            item = Planted(item.family, item.text, (body,))
        fixed.append(item)
    return fixed


def corpus(seed: int = 17, per_family: int = 20) -> list[Planted]:
    return fix_private_keys(planted_corpus(seed, per_family))


def clean_lines(seed: int = 5, n: int = 300) -> list[str]:
    """Telemetry without secrets: what redaction must leave alone (trace ids, times, versions, hashes, ids)."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        trace = rng.randbytes(16).hex()
        span = rng.randbytes(8).hex()
        sha = rng.randbytes(20).hex()
        ts = 1_794_130_233_131_097_165 + rng.randint(0, 10**12)
        ev = f"ev-log-template-{rng.randbytes(5).hex()}"
        lines.append(
            rng.choice(
                [
                    f"trace_id={trace} span_id={span} GetCart took {rng.randint(1, 900)} ms",
                    f"deploy cart v1.{rng.randint(0, 9)}.{rng.randint(0, 9)} commit {sha}",
                    f"{ts} INFO checkout order {rng.randint(10**5, 10**6)} placed ({ev})",
                    f"2026-11-08T09:{rng.randint(10, 59)}:{rng.randint(10, 59)}.{rng.randint(100000, 999999)}Z "
                    f"GET /api/products/{rng.randint(1, 9999)} 200",
                    f"pod cart-{rng.randbytes(4).hex()}-{_rand(rng, string.ascii_lowercase, 5)} restarted "
                    f"(exit code 137) at 10.{rng.randint(0, 9)} s",
                    f"uuid {rng.randbytes(4).hex()}-{rng.randbytes(2).hex()}-{rng.randbytes(2).hex()}-"
                    f"{rng.randbytes(2).hex()}-{rng.randbytes(6).hex()} processed in 0.{rng.randint(100, 999)} s",
                    f"grpc status 14 UNAVAILABLE: connection to cart:{rng.randint(1000, 9999)} refused",
                ]
            )
        )
    return lines


def leaked(secret: str, redacted: str) -> bool:
    """A secret leaked when it survives (ignoring separators) or any 8-character run of it does."""
    squash = re.sub(r"[\s().-]", "", secret)
    if squash and squash in re.sub(r"[\s().-]", "", redacted):
        return True
    runs = re.findall(r"[A-Za-z0-9]{8,}", secret)
    return any(run in redacted for run in runs)


def vendor_corpus(seed: int = 3, per_family: int = 10) -> list[Planted]:
    """Vendor token formats our rules do not name (detect-secrets has plugins for most): what the maintained
    detector adds. Contexts are neutral, so a key name does not give the value away."""
    rng = random.Random(seed)
    hexd = string.hexdigits[:16]
    makers = {
        "twilio": lambda: "SK" + _rand(rng, hexd, 32),
        "mailchimp": lambda: _rand(rng, hexd, 32) + f"-us{rng.randint(1, 20)}",
        "telegram": lambda: f"{rng.randint(10**8, 10**9)}:AA{_rand(rng, AL + '_-', 33)}",
        "discord": lambda: "M" + _rand(rng, AL, 23) + "." + _rand(rng, AL, 6) + "." + _rand(rng, AL + "_-", 27),
        "square": lambda: "sq0atp-" + _rand(rng, AL + "_-", 22),
        "artifactory": lambda: "AKC" + _rand(rng, AL, 70),
        "sendgrid": lambda: "SG." + _rand(rng, AL + "_-", 22) + "." + _rand(rng, AL + "_-", 43),
        "npm": lambda: "npm_" + _rand(rng, AL, 36),
    }
    contexts = ("config loaded: {}", "retrying with {}", "value {} rejected")
    out = []
    for family, make in makers.items():
        for _ in range(per_family):
            value = make()
            out.append(Planted(family, rng.choice(contexts).format(value), (value,)))
    return out
