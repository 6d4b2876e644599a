"""How a profile becomes a request, and a response an answer: HTTP JSON, OpenAI-compatible, Python.

An adapter builds a *canonical request* from a profile (a JSON-able dict: what the cache key hashes and
the cache stores), sends it, and parses the response into an :class:`Answer` (a score, a decision, or a
reason it could not be read). Secrets never enter the canonical request: a header is recorded as its
template (``"Bearer ${SCREENER_KEY}"``) and the environment variable is read only when sending; every
value read from the environment is scrubbed from what the service sends back before it is stored.

The adapter file (``--adapter FILE``, YAML) says which kind and how::

    kind: http                       # or openai; a Python callable needs no file (--endpoint module:function)
    url: https://screener.example/v1/score          # or --endpoint
    headers: {Authorization: "Bearer ${SCREENER_KEY}"}
    body: {candidate: {name: "{first_name} {last_name}", years: "{years}"}}
    response: {score: result.score}                 # or {decision: result.decision, positive: [advance]}

    kind: openai
    base_url: https://api.openai.com/v1             # or --endpoint
    model: gpt-4o-mini
    api_key_env: OPENAI_API_KEY
    system: You screen résumés for a warehouse job.
    prompt: "Candidate {first_name} {last_name}, {years} years ... Answer YES or NO."
    answer: {kind: label, labels: {YES: true, NO: false}}   # or {kind: number} or {kind: json, schema: …, field: score}
"""

from __future__ import annotations

import importlib
import json
import os
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.errors import FairgateError, UsageError

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
REDACTED = "[redacted]"


class ServiceError(FairgateError):
    """The served model cannot be probed: refused the request, kept failing, or the budget ran out."""


class Retryable(Exception):
    """A failure worth retrying (429, 5xx, timeout, a dropped connection); ``retry_after`` in seconds."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Response:
    status: int
    body: str
    model: str | None = None  # the model name the service reported
    version: str | None = None  # its version string (OpenAI: system_fingerprint)


@dataclass(frozen=True)
class Answer:
    value: float | None  # a score, or 1.0/0.0 for a decision
    kind: str  # "score" | "decision"
    problem: str | None = None  # why no value: "refused", "malformed JSON", …


class Adapter:
    kind = "adapter"
    output = "score"

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError

    def request(self, record: Mapping[str, str], sample: int) -> dict[str, Any]:
        raise NotImplementedError

    def send(self, request: Mapping[str, Any], *, timeout: float) -> Response:
        raise NotImplementedError

    def parse(self, response: Response) -> Answer:
        raise NotImplementedError

    def check_environment(self) -> None:
        """Refuse before anything is sent when the environment lacks a key the adapter needs."""

    def placeholders(self) -> set[str]:
        """The profile columns the templates use (checked against the profiles before anything is sent)."""
        return set()

    def secrets(self) -> list[str]:
        """Values read from the environment for this adapter (scrubbed from everything stored)."""
        return []

    def scrub(self, text: str) -> str:
        for secret in self.secrets():
            if secret:
                text = text.replace(secret, REDACTED)
        return text


def load_adapter(endpoint: str, adapter_file: Path | None) -> Adapter:
    """The adapter ``--endpoint`` and ``--adapter`` describe."""
    config: dict[str, Any] = {}
    if adapter_file is not None:
        import yaml

        path = Path(adapter_file)
        if not path.is_file():
            raise UsageError(f"--adapter {path}: no such file", hint="an adapter file is YAML: see docs/probe.md")
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise UsageError(f"--adapter {path}: not a mapping", hint="an adapter file is YAML: see docs/probe.md")
        config = loaded
    is_url = endpoint.startswith(("http://", "https://"))
    kind = config.get("kind", "http" if is_url else "python")
    if kind == "python" or (not is_url and adapter_file is None):
        return CallableAdapter(endpoint, output=config.get("output"))
    if kind == "http":
        return HttpJsonAdapter(endpoint, config)
    if kind == "openai":
        return OpenAIAdapter(endpoint, config)
    raise UsageError(f"--adapter: unknown kind {kind!r}", hint="kind is http, openai or python")


# --- HTTP JSON ---------------------------------------------------------------------------------


def fill(template: Any, record: Mapping[str, str]) -> Any:
    """``template`` with every ``{column}`` in its strings replaced by the profile's value."""
    if isinstance(template, str):
        return PLACEHOLDER.sub(lambda m: record[m.group(1)] if m.group(1) in record else m.group(0), template)
    if isinstance(template, Mapping):
        return {k: fill(v, record) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, record) for v in template]
    return template


def used_placeholders(template: Any) -> set[str]:
    if isinstance(template, str):
        return set(PLACEHOLDER.findall(template))
    if isinstance(template, Mapping):
        return set().union(*(used_placeholders(v) for v in template.values())) if template else set()
    if isinstance(template, list):
        return set().union(*(used_placeholders(v) for v in template)) if template else set()
    return set()


def field_at(document: Any, path: str) -> Any:
    """``document["a"]["b"][0]`` for ``path`` ``a.b.0``; KeyError when absent."""
    node = document
    for part in path.split(".") if path else []:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            raise KeyError(path)
    return node


def _env(name: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise UsageError(
            f"the adapter needs the environment variable {name}, which is not set",
            hint=f"export {name}=… (keys come only from the environment, never from files or options)",
        )
    return value


class _HttpAdapter(Adapter):
    """What the two HTTP adapters share: headers from templates, urllib with a timeout, retry signals."""

    def __init__(self, url: str, headers: Mapping[str, str]) -> None:
        self.url = url
        self.header_templates = {str(k): str(v) for k, v in headers.items()}

    def check_environment(self) -> None:
        for name in self.env_names():
            _env(name)  # refuse before sending anything when a key is missing (a replay needs none)

    def env_names(self) -> list[str]:
        return sorted({n for v in self.header_templates.values() for n in ENV_REFERENCE.findall(v)})

    def secrets(self) -> list[str]:
        return [os.environ.get(n, "") for n in self.env_names()]

    def send(self, request: Mapping[str, Any], *, timeout: float) -> Response:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        for name, template in request["headers"].items():
            headers[name] = ENV_REFERENCE.sub(lambda m: _env(m.group(1)), template)
        data = json.dumps(request["body"]).encode("utf-8")
        http = urllib.request.Request(request["url"], data=data, headers=headers, method=request.get("method", "POST"))
        try:
            with urllib.request.urlopen(http, timeout=timeout) as reply:  # noqa: S310 (the user's endpoint)
                body = reply.read().decode("utf-8", "replace")
                return self.reported(Response(reply.status, self.scrub(body)))
        except urllib.error.HTTPError as exc:
            body = self.scrub(exc.read().decode("utf-8", "replace")[:300])
            if exc.code == 429 or exc.code >= 500:
                raise Retryable(f"HTTP {exc.code}", retry_after=_retry_after(exc.headers.get("Retry-After"))) from None
            raise ServiceError(
                f"{request['url']}: HTTP {exc.code} {exc.reason}: {body}",
                hint="the endpoint refused the request: check the adapter's body template and headers",
            ) from None
        except TimeoutError as exc:
            raise Retryable(f"timed out after {timeout:g} s") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError | socket.timeout):
                raise Retryable(f"timed out after {timeout:g} s") from exc
            raise Retryable(f"cannot connect ({exc.reason})") from exc
        except (ConnectionError, OSError) as exc:
            raise Retryable(f"connection failed ({exc})") from exc

    def reported(self, response: Response) -> Response:
        return response


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to the backoff


class HttpJsonAdapter(_HttpAdapter):
    """A JSON endpoint: a body template with ``{column}`` placeholders, a field path for the answer."""

    kind = "http"

    def __init__(self, endpoint: str, config: Mapping[str, Any]) -> None:
        url = endpoint if endpoint.startswith(("http://", "https://")) else config.get("url", "")
        if not url:
            raise UsageError(
                "an http adapter needs a URL: --endpoint URL or url: in the adapter file",
                hint="see docs/probe.md for the adapter file",
            )
        super().__init__(url, config.get("headers") or {})
        self.method = str(config.get("method", "POST")).upper()
        self.body = config.get("body")
        response = config.get("response") or {"score": "score"}  # no adapter file: POST the profile, read "score"
        if ("score" in response) == ("decision" in response):
            raise UsageError(
                "the adapter's response: needs exactly one of score: or decision:",
                hint="a field path into the JSON reply, e.g. response: {score: result.score}",
            )
        self.output = "score" if "score" in response else "decision"
        self.path = str(response[self.output])
        positive = response.get("positive", [True, 1, "1", "yes", "true"])
        self.positive = [str(p).lower() for p in (positive if isinstance(positive, list) else [positive])]

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "endpoint": self.url,
            "method": self.method,
            "body_template": self.body,
            "headers": {k: _header_note(v) for k, v in self.header_templates.items()},
            "response_field": self.path,
            "output": self.output,
        }

    def placeholders(self) -> set[str]:
        return used_placeholders(self.body)

    def request(self, record: Mapping[str, str], sample: int) -> dict[str, Any]:
        body = fill(self.body, record) if self.body is not None else dict(record)
        return {
            "kind": self.kind,
            "method": self.method,
            "url": self.url,
            "headers": self.header_templates,
            "body": body,
            "sample": sample,
        }

    def parse(self, response: Response) -> Answer:
        try:
            value = field_at(json.loads(response.body), self.path)
        except json.JSONDecodeError:
            return Answer(None, self.output, "malformed JSON")
        except KeyError:
            return Answer(None, self.output, f"no field {self.path}")
        return _as_answer(value, self.output, self.positive)


def _as_answer(value: Any, output: str, positive: list[str]) -> Answer:
    if output == "decision":
        if value is None:
            return Answer(None, output, "empty decision")
        return Answer(1.0 if str(value).strip().lower() in positive else 0.0, output)
    if isinstance(value, bool) or value is None:
        return Answer(None, output, "not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        return Answer(None, output, "not a number")
    return (
        Answer(number, output)
        if number == number and abs(number) != float("inf")
        else Answer(None, output, "not a number")
    )


def _header_note(template: str) -> str:
    """A header as the evidence shows it: its template, with where each secret comes from."""
    return ENV_REFERENCE.sub(lambda m: f"${{{m.group(1)}}} (from the environment, not recorded)", template)


# --- OpenAI-compatible chat completions -------------------------------------------------------


class OpenAIAdapter(_HttpAdapter):
    """POST {base_url}/chat/completions; the answer is a label, a number or JSON against a schema."""

    kind = "openai"

    def __init__(self, endpoint: str, config: Mapping[str, Any]) -> None:
        base = endpoint if endpoint.startswith(("http://", "https://")) else config.get("base_url", "")
        if not base:
            raise UsageError(
                "an openai adapter needs a base URL: --endpoint URL or base_url: in the adapter file",
                hint="e.g. --endpoint https://api.openai.com/v1",
            )
        if "model" not in config or "prompt" not in config:
            raise UsageError("an openai adapter file needs model: and prompt:", hint="see docs/probe.md")
        key_env = config.get("api_key_env")
        headers = {"Authorization": f"Bearer ${{{key_env}}}"} if key_env else {}
        super().__init__(base.rstrip("/") + "/chat/completions", {**headers, **(config.get("headers") or {})})
        self.model = str(config["model"])
        self.system = config.get("system")
        self.prompt = str(config["prompt"])
        self.options = {k: config[k] for k in ("temperature", "max_tokens", "top_p", "seed") if k in config}
        answer = config.get("answer") or {"kind": "number"}
        self.answer_kind = str(answer.get("kind", "number"))
        if self.answer_kind not in ("label", "number", "json"):
            raise UsageError(
                f"the adapter's answer kind {self.answer_kind!r} is unknown",
                hint="answer: kind is label, number or json",
            )
        self.labels = {str(k).strip().lower(): bool(v) for k, v in (answer.get("labels") or {}).items()}
        if self.answer_kind == "label" and not self.labels:
            raise UsageError(
                "the adapter's answer: {kind: label} has no labels:", hint="e.g. labels: {YES: true, NO: false}"
            )
        self.schema = answer.get("schema") or {}
        self.field = str(answer.get("field", ""))
        self.output = "decision" if self.answer_kind == "label" else str(answer.get("output", "score"))
        self.answer = answer

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "endpoint": self.url,
            "model": self.model,
            "system_template": self.system,
            "prompt_template": self.prompt,
            "options": self.options,
            "answer": self.answer,
            "headers": {k: _header_note(v) for k, v in self.header_templates.items()},
            "output": self.output,
        }

    def placeholders(self) -> set[str]:
        return used_placeholders(self.prompt) | used_placeholders(self.system or "")

    def request(self, record: Mapping[str, str], sample: int) -> dict[str, Any]:
        messages = [{"role": "system", "content": fill(self.system, record)}] if self.system else []
        messages.append({"role": "user", "content": fill(self.prompt, record)})
        return {
            "kind": self.kind,
            "method": "POST",
            "url": self.url,
            "headers": self.header_templates,
            "body": {"model": self.model, "messages": messages, **self.options},
            "sample": sample,
        }

    def reported(self, response: Response) -> Response:
        try:
            document = json.loads(response.body)
        except json.JSONDecodeError:
            return response
        if not isinstance(document, dict):
            return response
        model, version = document.get("model"), document.get("system_fingerprint")
        return Response(
            response.status, response.body, str(model) if model else None, str(version) if version else None
        )

    def parse(self, response: Response) -> Answer:
        try:
            message = field_at(json.loads(response.body), "choices.0.message")
        except (json.JSONDecodeError, KeyError):
            return Answer(None, self.output, "malformed response")
        if isinstance(message, Mapping) and message.get("refusal"):
            return Answer(None, self.output, "refused")
        content = message.get("content") if isinstance(message, Mapping) else None
        if not isinstance(content, str) or not content.strip():
            return Answer(None, self.output, "empty answer")
        text = content.strip()
        if self.answer_kind == "label":
            word = re.sub(r"[^\w-]", "", text.split()[0]).lower() if text.split() else ""
            if word in self.labels:
                return Answer(1.0 if self.labels[word] else 0.0, "decision")
            return Answer(None, "decision", "not one of the labels")
        if self.answer_kind == "number":
            match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*\d+)?\s*\.?\s*", text)
            return _as_answer(match.group(1), "score", []) if match else Answer(None, "score", "not a number")
        try:
            document = json.loads(_strip_fence(text))
        except json.JSONDecodeError:
            return Answer(None, self.output, "malformed JSON")
        problem = check_schema(document, self.schema)
        if problem:
            return Answer(None, self.output, f"JSON against the schema: {problem}")
        try:
            value = field_at(document, self.field)
        except KeyError:
            return Answer(None, self.output, f"no field {self.field}")
        return _as_answer(value, self.output, [str(p).lower() for p in self.answer.get("positive", [True, "yes"])])


def _strip_fence(text: str) -> str:
    match = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, flags=re.S)
    return match.group(1) if match else text


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def check_schema(value: Any, schema: Mapping[str, Any], where: str = "$") -> str | None:
    """The first way ``value`` breaks ``schema`` (a JSON Schema subset: type, properties, required,
    enum, minimum, maximum, items), or None."""
    kind = schema.get("type")
    if isinstance(kind, str) and kind in _TYPES and not _TYPES[kind](value):
        return f"{where} is not of type {kind}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where} is not one of {schema['enum']}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{where} is below {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{where} is above {schema['maximum']}"
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                return f"{where}.{key} is missing"
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                problem = check_schema(value[key], sub, f"{where}.{key}")
                if problem:
                    return problem
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            problem = check_schema(item, schema["items"], f"{where}[{i}]")
            if problem:
                return problem
    return None


# --- a Python callable -------------------------------------------------------------------------


class CallableAdapter(Adapter):
    """``module:function`` called with the profile (a dict of text); it returns a number (a score), a
    bool (a decision), or a dict/str the same parsing reads (``{"score": …}`` / ``{"decision": …}``)."""

    kind = "python"

    def __init__(self, target: str, *, output: str | None = None) -> None:
        module, _, name = target.partition(":")
        if not module or not name:
            raise UsageError(
                f"--endpoint {target!r}: not a URL or module:function",
                hint="an http(s):// URL with --adapter FILE, or a Python callable as package.module:function",
            )
        try:
            self.function = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise UsageError(
                f"--endpoint {target}: cannot import ({exc})", hint="is the module on PYTHONPATH?"
            ) from exc
        self.target = target
        self.output = output or "score"

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "endpoint": self.target}

    def request(self, record: Mapping[str, str], sample: int) -> dict[str, Any]:
        return {"kind": self.kind, "function": self.target, "record": dict(record), "sample": sample}

    def send(self, request: Mapping[str, Any], *, timeout: float) -> Response:
        value = self.function(dict(request["record"]))
        return Response(200, json.dumps(value, default=str))

    def parse(self, response: Response) -> Answer:
        try:
            value = json.loads(response.body)
        except json.JSONDecodeError:
            return Answer(None, self.output, "malformed JSON")
        if isinstance(value, dict):
            key = "decision" if "decision" in value else "score"
            return _as_answer(value.get(key), key, ["true", "1", "yes"])
        if isinstance(value, bool):
            return Answer(1.0 if value else 0.0, "decision")
        return _as_answer(value, "score", [])
