"""The files of the demo monorepo: service sources from the templates, plus generated build files,
the CODEOWNERS file and the incidentlens.yaml service catalog."""

from __future__ import annotations

from importlib import resources

from incidentlens.simulate.topology import SERVICES, Language

_PY_DEPS = {
    "common": [
        "grpcio==1.67.1",
        "protobuf==5.28.3",
        "opentelemetry-distro==0.48b0",
        "opentelemetry-instrumentation-grpc==0.48b0",
    ],
    "payment": ["python-json-logger==2.0.7"],
    "cart": ["python-json-logger==2.0.7", "redis==5.2.0", "opentelemetry-instrumentation-redis==0.48b0"],
    "productcatalog": [
        "python-json-logger==2.0.7",
        "psycopg[binary]==3.2.3",
        "psycopg-pool==3.2.3",
        "opentelemetry-instrumentation-psycopg==0.48b0",
    ],
    "currency": ["python-json-logger==2.0.7"],
    "shipping": ["python-json-logger==2.0.7"],
    "email": [
        "python-json-logger==2.0.7",
        "flask==3.0.3",
        "jinja2==3.1.4",
        "opentelemetry-instrumentation-flask==0.48b0",
    ],
    "recommendation": ["structlog==24.4.0"],
    "accounting": ["structlog==24.4.0", "kafka-python-ng==2.2.3", "psycopg[binary]==3.2.3"],
}
OLD_GRPC = "grpcio==1.66.2"

# Where a template lands when it is not services/<svc>/<name>.
_SPECIAL = {("ad", "AdService.java"): "services/ad/src/main/java/oteldemo/AdService.java"}

CODEOWNERS = """\
# Default reviewers for anything not matched below. The last matching pattern takes precedence.
*                                        @shop/platform

/services/frontend/                      @shop/web
/services/checkout/                      @shop/checkout
/services/checkout/config.yaml           @shop/checkout @shop/sre
/services/cart/                          @shop/checkout
/services/payment/                       @shop/payments
/services/payment/charge.py              @dana-kim @shop/payments
/services/currency/                      @shop/payments
/services/productcatalog/                @shop/catalog
/services/productcatalog/catalog_db.py   @omar-haddad
/services/shipping/                      @shop/fulfilment
/services/email/                         @shop/fulfilment
/services/recommendation/                @shop/discovery
/services/ad/                            @shop/discovery
/services/accounting/                    @shop/finance
**/requirements.txt                      @shop/platform
/.github/                                @shop/platform
/incidentlens.yaml                       @shop/sre
"""


def service_sources(service: str) -> dict[str, str]:
    """Template files of one service, keyed by repo path."""
    folder = resources.files("incidentlens.simulate").joinpath("sources", service)
    out: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".tmpl"):
            continue
        name = entry.name[: -len(".tmpl")]
        path = _SPECIAL.get((service, name), f"services/{service}/{name}")
        out[path] = entry.read_text("utf-8")
    return out


def requirements(service: str, *, old: bool = False) -> str:
    pins = [*_PY_DEPS["common"], *_PY_DEPS[service]]
    if old:
        pins = [OLD_GRPC if p.startswith("grpcio==") else p for p in pins]
    return "\n".join(sorted(pins, key=str.lower)) + "\n"


def dockerfile(service: str) -> str:
    svc = SERVICES[service]
    entry = "consumer.py" if service == "accounting" else "server.py"
    if svc.language is Language.PYTHON:
        return (
            "FROM python:3.12-slim\n"
            "WORKDIR /app\n"
            f"COPY services/{service}/requirements.txt services/{service}/requirements.txt\n"
            f"RUN pip install --no-cache-dir -r services/{service}/requirements.txt\n"
            "COPY . /app\n"
            f"WORKDIR /app/services/{service}\n"
            f'CMD ["opentelemetry-instrument", "python", "{entry}"]\n'
        )
    if svc.language is Language.GO:
        return (
            "FROM golang:1.23 AS build\nWORKDIR /usr/src/app\nCOPY . .\n"
            f"RUN go build -o /{service} ./services/{service}\n"
            f"FROM gcr.io/distroless/static\nCOPY --from=build /{service} /{service}\n"
            f'ENTRYPOINT ["/{service}"]\n'
        )
    return (
        "FROM eclipse-temurin:21-jre\nWORKDIR /app\nCOPY build/libs/ad.jar /app/ad.jar\n"
        'ENTRYPOINT ["java", "-javaagent:/app/opentelemetry-javaagent.jar", "-jar", "/app/ad.jar"]\n'
    )


def build_files(service: str, *, old_deps: bool = False) -> dict[str, str]:
    """Dockerfile plus the language's dependency manifest."""
    svc = SERVICES[service]
    files = {f"services/{service}/Dockerfile": dockerfile(service)}
    if svc.language is Language.PYTHON:
        files[f"services/{service}/requirements.txt"] = requirements(service, old=old_deps)
    elif svc.language is Language.GO:
        files[f"services/{service}/go.mod"] = (
            f"module github.com/shop/demo/services/{service}\n\ngo 1.23\n\nrequire (\n"
            "\tgo.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc v0.56.0\n"
            "\tgo.uber.org/zap v1.27.0\n\tgoogle.golang.org/grpc v1.67.1\n)\n"
        )
    else:
        files[f"services/{service}/build.gradle"] = (
            "plugins { id 'java'; id 'application' }\n\ndependencies {\n"
            "    implementation 'io.grpc:grpc-netty-shaded:1.67.1'\n"
            "    implementation 'net.logstash.logback:logstash-logback-encoder:8.0'\n}\n"
        )
    return files


def catalog_yaml() -> str:
    lines = ["# Service catalog read by IncidentLens: ownership and escalation per service.", "services:"]
    for name, svc in SERVICES.items():
        lines.append(
            f'  {name}: {{path: services/{name}, team: {svc.team}, owner: "{svc.owner}", '
            f'oncall: "{svc.oncall}", tier: production}}'
        )
    return "\n".join(lines) + "\n"


README = """\
# shop

The demo web shop: a storefront (`services/frontend`), checkout, cart, payment and friends, modelled on
the OpenTelemetry demo. Each service lives in `services/<name>/` with its own Dockerfile.

Ownership: `.github/CODEOWNERS` and `incidentlens.yaml` (team, owner and on-call per service).
"""

GITIGNORE = "__pycache__/\n*.pyc\n.venv/\nbuild/\n"
