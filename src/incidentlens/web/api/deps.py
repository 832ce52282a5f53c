"""Shared pieces of the API routers: the database, the settings, role sets and request bodies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from incidentlens.model.enums import Role
from incidentlens.store.database import Database
from incidentlens.web.auth import require_user, verify_csrf
from incidentlens.web.settings import WebSettings
from incidentlens.workflow.identity import Identity

# The same role rules as the CLI's --as checks (cli/actors.py, workflow/fix_context.py).
RESPONDERS = (Role.RESPONDER, Role.ADMIN)
OPERATORS = (Role.RESPONDER, Role.APPROVER, Role.ADMIN)
DECIDERS = (Role.APPROVER, Role.ADMIN, Role.RESPONDER)  # the approval policy decides whose decision counts

CSRF = [Depends(verify_csrf)]


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[WebSettings, Depends(get_settings)]
Reader = Annotated[Identity, Depends(require_user())]
Responder = Annotated[Identity, Depends(require_user(*RESPONDERS))]
Operator = Annotated[Identity, Depends(require_user(*OPERATORS))]
Decider = Annotated[Identity, Depends(require_user(*DECIDERS))]

_TEXT = 10_000


class NoteBody(BaseModel):
    note: str = Field(default="", max_length=_TEXT, description="Why, for the record.")


class AssignBody(BaseModel):
    owner: str = Field(min_length=1, max_length=255, description="A person or a team.")
    note: str = Field(default="", max_length=_TEXT)


class CommentBody(BaseModel):
    comment: str = Field(default="", max_length=_TEXT, description="What confirmed it, or why it is wrong.")


class ExecuteBody(BaseModel):
    executor: str = Field(min_length=1, max_length=64, description="git_branch, github_pr or command.")
