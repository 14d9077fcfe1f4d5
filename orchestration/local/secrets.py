"""Secrets for local runs: the values `ctx.secret()` returns, from a JSON file the user names.

`LocalCloud(secrets=...)` seeds moto's Secrets Manager with them, so task code takes the same path
as on AWS (Powertools Parameters -> GetSecretValue). The source is a file path, a mapping (tests),
or, when none is given, the file named by `ORCH_SECRETS_FILE`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.errors import SecretError

SECRETS_FILE_ENV = "ORCH_SECRETS_FILE"

SecretsSource = str | os.PathLike[str] | Mapping[str, Any] | None


@dataclass(frozen=True)
class LocalSecrets:
    values: dict[str, str]
    file: str | None = None  # the file they came from

    @classmethod
    def load(cls, source: SecretsSource = None) -> LocalSecrets:
        """Read the secrets: `source`, else the file named by ORCH_SECRETS_FILE, else none."""
        if source is None:
            source = os.environ.get(SECRETS_FILE_ENV) or None
            if source is None:
                return cls({})
        if isinstance(source, Mapping):
            return cls(_values(source, "LocalCloud(secrets=...)"))
        path = Path(source)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SecretError(f"cannot read the secrets file {str(path)!r}: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise SecretError(
                f"the secrets file {str(path)!r} is not valid JSON (line {exc.lineno}: {exc.msg}); "
                'write one object: {"warehouse/password": "..."}'
            ) from None
        if not isinstance(data, dict):
            raise SecretError(
                f"the secrets file {str(path)!r} holds a {type(data).__name__}; write one JSON object mapping "
                'each secret name to its value: {"warehouse/password": "..."}'
            )
        return cls(_values(data, f"the secrets file {str(path)!r}"), str(path))

    def seed(self, session: Any) -> None:
        """Create the secrets in (moto's) Secrets Manager (`session`: boto3's); drop values Powertools
        cached before."""
        if self.values:
            client = session.client("secretsmanager")
            for name, value in sorted(self.values.items()):
                client.create_secret(Name=name, SecretString=value)
        forget_cached()

    def hint(self, name: str) -> str:
        """How to give `name` a value locally (the end of the error a task gets when it is missing)."""
        if self.file is not None:
            return f"the local secrets file {self.file!r} has no {name!r}: add it to that JSON object"
        if self.values:
            return f"it is not among the secrets given to LocalCloud(secrets=...): add {name!r}"
        return (
            f"no local secrets file was given: pass `orch run --secrets FILE` (or set {SECRETS_FILE_ENV}) "
            f'naming a JSON object such as {{"{name}": "..."}}'
        )


def forget_cached() -> None:
    """Clear Powertools' parameter providers and cached values (they outlive one local cloud)."""
    if "aws_lambda_powertools.utilities.parameters" not in sys.modules:
        return  # nothing fetched yet
    from aws_lambda_powertools.utilities.parameters import clear_caches

    clear_caches()  # type: ignore[no-untyped-call]


def _values(data: Mapping[str, Any], origin: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in data.items():
        if not isinstance(name, str) or not name:
            raise SecretError(f"{origin}: secret name {name!r} must be a non-empty string")
        if isinstance(value, str):
            out[name] = value
        elif isinstance(value, dict | list):  # a structured secret is stored as JSON text, as on AWS
            out[name] = json.dumps(value)
        else:
            raise SecretError(
                f"{origin}: secret {name!r} must be a string (or a JSON object), got {type(value).__name__}: "
                "write its value in quotes"
            )
    return out
