"""Service <-> folder hints from the files that build and deploy a service.

Dockerfiles (a service's folder holds one, or it COPYs/builds `services/<name>`), compose files
(`build:` contexts), Kubernetes manifests inside a folder (`metadata.name`), and package manifests
(`pom.xml` artifactId, `package.json` name, `go.mod` module, `pyproject.toml` name, Gradle
`rootProject.name`). Pure code over file texts the caller reads; the catalog still overrides all of it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from typing import Any

from incidentlens.errors import FormatError
from incidentlens.locate.services import ServiceFolder
from incidentlens.yamlsafe import load_yaml, load_yaml_all

MAX_MANIFESTS = 2000
_COMPOSE = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")
_PACKAGE = ("pom.xml", "package.json", "go.mod", "pyproject.toml", "settings.gradle", "settings.gradle.kts")
_K8S_DIRS = ("k8s", "kubernetes", "deploy", "manifests", "helm", "chart", "kustomize")
_DOCKER_PATHS = re.compile(r"(?:COPY|ADD|WORKDIR|RUN)[^\n]*?(?:^|[\s/.])((?:services|apps|cmd|src)/[\w.-]+)", re.M)
_POM_ARTIFACT = re.compile(r"<artifactId>\s*([^<\s]+)\s*</artifactId>")
_POM_STRIP = re.compile(r"<(parent|dependencies|dependencyManagement|build|profiles|plugins)>.*?</\1>", re.S)
_GO_MODULE = re.compile(r"^module\s+(\S+)", re.M)
_PYPROJECT_NAME = re.compile(r"^\[(?:project|tool\.poetry)\][^\[]*?^name\s*=\s*[\"']([^\"']+)", re.M | re.S)
_GRADLE_NAME = re.compile(r"rootProject\.name\s*=\s*[\"']([^\"']+)")


def manifest_paths(files: Iterable[str]) -> list[str]:
    """The tracked files worth reading for service hints (bounded, shallowest first)."""
    picked: list[str] = []
    for path in files:
        name = path.rsplit("/", 1)[-1]
        parts = path.split("/")
        is_k8s = name.endswith((".yaml", ".yml")) and any(p in _K8S_DIRS for p in parts[:-1])
        if name == "Dockerfile" or name.startswith("Dockerfile.") or name in _COMPOSE or name in _PACKAGE or is_k8s:
            picked.append(path)
    picked.sort(key=lambda p: (p.count("/"), p))
    return picked[:MAX_MANIFESTS]


def infer_service_folders(texts: Mapping[str, str]) -> list[ServiceFolder]:
    """Every (service name, folder) the manifests suggest, each saying which file said so."""
    found: list[ServiceFolder] = []
    for path, text in sorted(texts.items()):
        folder, name = posixpath.split(path)
        if name == "Dockerfile" or name.startswith("Dockerfile."):
            found.extend(_dockerfile(path, folder, text))
        elif name in _COMPOSE:
            found.extend(_compose(path, folder, text))
        elif name.endswith((".yaml", ".yml")):
            found.extend(_kubernetes(path, text))
        elif folder:
            label = _package_name(name, text)
            if label:
                found.append(ServiceFolder(label, folder, f"{path} names the package {label!r}"))
    return found


def _dockerfile(path: str, folder: str, text: str) -> list[ServiceFolder]:
    out: list[ServiceFolder] = []
    if folder:
        out.append(ServiceFolder(posixpath.basename(folder), folder, f"{path} builds the folder {folder}/"))
    for target in dict.fromkeys(m.group(1).rstrip("/.") for m in _DOCKER_PATHS.finditer(text)):
        if target != folder:
            out.append(ServiceFolder(posixpath.basename(target), target, f"{path} copies or builds {target}/"))
    return out


def _compose(path: str, folder: str, text: str) -> list[ServiceFolder]:
    data = _yaml(text)
    services = data.get("services") if isinstance(data, dict) else None
    out: list[ServiceFolder] = []
    for name, body in (services or {}).items() if isinstance(services, dict) else ():
        build = body.get("build") if isinstance(body, dict) else None
        context = build.get("context") if isinstance(build, dict) else build
        if isinstance(context, str) and not context.startswith(("http:", "https:", "git@")):
            target = posixpath.normpath(posixpath.join(folder, context))
            if target not in (".", "") and not target.startswith(".."):
                out.append(ServiceFolder(str(name), target, f"{path}: services.{name}.build is {context}"))
    return out


def _kubernetes(path: str, text: str) -> list[ServiceFolder]:
    """A manifest inside a service's folder (`services/x/k8s/deploy.yaml`) names that folder's service."""
    parts = path.split("/")
    k8s_at = next((i for i, p in enumerate(parts[:-1]) if p in _K8S_DIRS), None)
    if not k8s_at:
        return []
    folder = "/".join(parts[:k8s_at])
    out: list[ServiceFolder] = []
    for doc in _yaml_all(text):
        if isinstance(doc, dict) and doc.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "Service"):
            name = (doc.get("metadata") or {}).get("name") if isinstance(doc.get("metadata"), dict) else None
            if isinstance(name, str) and name:
                out.append(ServiceFolder(name, folder, f"{path}: {doc['kind']} {name} sits in {folder}/"))
    return out


def _package_name(name: str, text: str) -> str:
    if name == "pom.xml":
        m = _POM_ARTIFACT.search(_POM_STRIP.sub("", text))
    elif name == "package.json":
        m = re.search(r'"name"\s*:\s*"(?:@[^/"]+/)?([^"]+)"', text)
    elif name == "go.mod":
        m = _GO_MODULE.search(text)
        return m.group(1).rstrip("/").rsplit("/", 1)[-1] if m else ""
    elif name == "pyproject.toml":
        m = _PYPROJECT_NAME.search(text)
    else:
        m = _GRADLE_NAME.search(text)
    return m.group(1) if m else ""


def _yaml(text: str) -> Any:
    try:
        return load_yaml(text, "manifest")[1]  # bounded: a repository's files are not trusted
    except FormatError:
        return None  # a broken manifest gives no hint; it is not ours to validate


def _yaml_all(text: str) -> list[Any]:
    try:
        return load_yaml_all(text, "manifest")
    except FormatError:
        return []
