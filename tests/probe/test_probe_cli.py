"""`fairgate probe` end to end against stub services on 127.0.0.1: an HTTP JSON screener (with 429s, 5xx,
a timeout and a key it checks), an OpenAI-compatible one that refuses or answers off-script, an interrupt
and resume, the request budget, and a replay from the cache with no server running."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from audit.probe.adapters import ServiceError
from audit.util.resources import schema_path
from tests.cli.helpers import invoke
from tests.probe import stubs

KEY = "sk-test-4f9c2b7e-NEVER-IN-OUTPUTS"
KEY_ENV = "FAIRGATE_TEST_SCREENER_KEY"


def profiles(path: Path, n: int = 30) -> Path:
    rows = ["resume,first_name,last_name,years"] + [f"r{i},Pat,Doe,{i % 10}" for i in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


CONTEXT = Path(__file__).parents[2] / "examples" / "ll144" / "context.yaml"


def probe_args(profiles_path, endpoint, out, *extra):
    return [
        "probe",
        "--profiles",
        profiles_path,
        "--endpoint",
        endpoint,
        "--names",
        "race",
        "--last-name-column",
        "last_name",
        "--groups",
        "white,black",
        "--policy",
        "nyc-ll144-selection",
        "--context",  # the LL144 policies require the audit's context (issue 20)
        CONTEXT,
        "--out",
        out,
        "--no-ledger",
        "--format",
        "html,json,md",
        *extra,
    ]


def every_file_text(root: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in sorted(root.rglob("*")) if p.is_file())


class Screener:
    """An HTTP screener: checks the key, fails some first attempts (429, 503, a slow answer), echoes the key."""

    def __init__(self) -> None:
        self.attempts: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.lock = threading.Lock()

    def __call__(self, path, body, headers):
        if headers.get("Authorization") != f"Bearer {KEY}":
            return 401, {"error": "bad key"}, {}
        candidate = body["candidate"]
        record = {"first_name": candidate["first"], "years": candidate["years"], "resume": body["resume"]}
        ident = json.dumps(body, sort_keys=True)
        with self.lock:
            self.attempts[ident] += 1
            first = self.attempts[ident] == 1
            bucket = len(self.attempts) % 10
        if first and bucket == 1:
            self.statuses[429] += 1
            return 429, {"error": "slow down"}, {"Retry-After": "0"}
        if first and bucket == 2:
            self.statuses[503] += 1
            return 503, {"error": "busy"}, {}
        if first and bucket == 3 and self.statuses["timeout"] < 2:
            self.statuses["timeout"] += 1
            time.sleep(1.0)  # longer than --timeout: the client gives up and retries
        self.statuses[200] += 1
        # a careless service echoing the caller's credentials: the cache must not keep them
        return 200, {"result": {"score": stubs.biased(record)}, "debug": headers.get("Authorization")}, {}


def adapter_file(path: Path) -> Path:
    path.write_text(
        f"""kind: http
headers:
  Authorization: "Bearer ${{{KEY_ENV}}}"
body:
  candidate: {{first: "{{first_name}}", last: "{{last_name}}", years: "{{years}}"}}
  resume: "{{resume}}"
response:
  score: result.score
""",
        encoding="utf-8",
    )
    return path


def test_http_screener_bias_found_retried_replayed_and_the_key_never_written(tmp_path, capsys, monkeypatch, caplog):
    monkeypatch.setenv(KEY_ENV, KEY)
    stubs.DRAW = 7
    data, adapter = profiles(tmp_path / "candidates.csv"), adapter_file(tmp_path / "screener.yaml")
    out = tmp_path / "out"
    screener = Screener()
    with stubs.serve(screener) as url:
        ran = invoke(
            capsys,
            probe_args(data, f"{url}/score", out, "--adapter", adapter, "--timeout", "0.5", "--concurrency", "3"),
            exit_code=0,
        )
    assert screener.statuses[429] and screener.statuses[503] and screener.statuses["timeout"]
    assert "plan: 30 profiles × 2 variants (White, Black) × 1 repeat = 60 requests" in ran.out
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    schema = json.loads(schema_path("results.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(results, schema, cls=jsonschema.Draft202012Validator)
    probe = results["probe"]
    (item,) = probe["statistics"]["paired"]
    assert (item["group"], item["direction"], item["significant"]) == ("Black", "lower", True)
    assert item["method"] == "wilcoxon-signed-rank" and item["p_adjusted"] < 0.05
    assert probe["cache"]["entries"] == 60 and len(probe["cache"]["manifest_sha256"]) == 64
    assert probe["adapter"]["endpoint"] == f"{url}/score" and probe["test_data"]["used"] is True
    assert results["audit"]["sensitive_features"] == ["race_ethnicity"]
    assert {f["rule_id"] for f in results["findings"]} == {"ll144-impact-ratio"}
    assert "Paired counterfactual test" in (out / "report.html").read_text(encoding="utf-8")
    assert "Black vs White" in (out / "summary.md").read_text(encoding="utf-8")

    # the key: nowhere in any output file, the cache, the terminal or the logs
    assert KEY not in every_file_text(out)
    assert KEY not in ran.out + ran.err + caplog.text
    assert "[redacted]" in every_file_text(out / "probe-cache" / "objects")

    # replay from the cache, the server gone and the key unset: the same numbers
    monkeypatch.delenv(KEY_ENV)
    again = tmp_path / "again"
    args = probe_args(data, f"{url}/score", again, "--adapter", adapter, "--cache", out / "probe-cache", "--replay")
    invoke(capsys, args, exit_code=0)
    replayed = json.loads((again / "results.json").read_text(encoding="utf-8"))
    assert replayed["probe"] == probe
    assert replayed["findings"] == results["findings"] and replayed["groups"] == results["groups"]

    # verify --recompute's path: the evidence recomputed from outcomes.csv is identical
    from audit.recompute import recompute

    assert recompute(results, data=out / "probe-cache" / "outcomes.csv", model=None).identical


def test_replay_refuses_when_the_cache_lacks_a_request(tmp_path, capsys):
    data = profiles(tmp_path / "c.csv", n=3)
    ran = invoke(capsys, probe_args(data, "tests.probe.stubs:unbiased", tmp_path / "out", "--replay"), exit_code=2)
    assert "--replay: 6 of 6 requests are not in the cache" in ran.err


def openai_reply(body, content=None, refusal=None):
    return {
        "id": "chatcmpl-stub",
        "model": "stub-gpt-1",
        "system_fingerprint": "fp_stub_42",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": refusal}}],
    }


def test_openai_stub_refusals_and_off_script_answers_are_counted_per_group(tmp_path, capsys):
    served: Counter[tuple[str, str]] = Counter()
    lock = threading.Lock()

    def chat(path, body, headers):
        assert path == "/v1/chat/completions" and body["model"] == "stub-gpt"
        prompt = body["messages"][-1]["content"]
        name = prompt.split(" ")[1]
        group = "Black" if name in stubs.black_names() else "White"
        digest = sum(map(ord, prompt)) % 7
        with lock:
            if digest == 0:
                served[(group, "refused")] += 1
                return 200, openai_reply(body, refusal="I can't assess candidates."), {}
            if digest == 1:
                served[(group, "not one of the labels")] += 1
                return 200, openai_reply(body, content="Maybe, it depends."), {}
            served[(group, "ok")] += 1
        years = int(prompt.rsplit(" ", 2)[-2])
        return 200, openai_reply(body, content="YES." if years >= 5 else "no"), {}

    adapter = tmp_path / "llm.yaml"
    adapter.write_text(
        """kind: openai
model: stub-gpt
system: You screen candidates for a warehouse job.
prompt: "Candidate {first_name} {last_name} has {years} years"
temperature: 0.7
answer: {kind: label, labels: {"yes": true, "no": false}}
""",
        encoding="utf-8",
    )
    data, out = profiles(tmp_path / "c.csv", n=20), tmp_path / "out"
    with stubs.serve(chat) as url:
        invoke(capsys, probe_args(data, f"{url}/v1", out, "--adapter", adapter, "--repeats", "2"), exit_code=0)
    probe = json.loads((out / "results.json").read_text(encoding="utf-8"))["probe"]
    assert probe["output"] == "decision"
    assert probe["adapter"]["reported_models"] == ["stub-gpt-1"]
    assert probe["adapter"]["reported_versions"] == ["fp_stub_42"]
    assert probe["adapter"]["prompt_template"] == "Candidate {first_name} {last_name} has {years} years"
    groups = {g["group"]: g for g in probe["statistics"]["groups"]}
    for group in ("White", "Black"):
        assert groups[group]["unparsable"] == served[(group, "refused")] + served[(group, "not one of the labels")]
        assert groups[group]["problems"].get("refused", 0) == served[(group, "refused")]
    assert sum(g["unparsable"] for g in groups.values()) > 0
    (item,) = probe["statistics"]["paired"]
    assert item["method"] == "mcnemar-exact" and not item["significant"]  # the stub decides on years only
    assert probe["statistics"]["variability"]["repeats"] == 2


def test_openai_json_answers_checked_against_the_schema(tmp_path, capsys):
    replies = iter(['{"score": 7}', '{"score": "high"}', "{not json", '```json\n{"score": 3}\n```'] * 100)
    lock = threading.Lock()

    def chat(path, body, headers):
        with lock:
            text = next(replies)
        return 200, openai_reply(body, content=text), {}

    adapter = tmp_path / "llm.yaml"
    adapter.write_text(
        """kind: openai
model: stub-gpt
prompt: "Rate {first_name} {last_name}, {years} years, 0-10 as JSON"
answer:
  kind: json
  field: score
  schema: {type: object, required: [score], properties: {score: {type: number, minimum: 0, maximum: 10}}}
""",
        encoding="utf-8",
    )
    data, out = profiles(tmp_path / "c.csv", n=10), tmp_path / "out"
    with stubs.serve(chat) as url:
        invoke(capsys, probe_args(data, f"{url}/v1", out, "--adapter", adapter, "--concurrency", "1"), exit_code=0)
    stats = json.loads((out / "results.json").read_text(encoding="utf-8"))["probe"]["statistics"]
    problems = Counter()
    for g in stats["groups"]:
        problems.update(g["problems"])
    assert problems == {"malformed JSON": 5, "JSON against the schema: $.score is not of type number": 5}


def test_interrupt_then_resume_sends_only_what_is_missing(tmp_path, capsys, monkeypatch):
    data, out = profiles(tmp_path / "c.csv", n=10), tmp_path / "out"
    monkeypatch.setattr(stubs, "CALLS", [])
    monkeypatch.setattr(stubs, "INTERRUPT_AT", 8)
    invoke(capsys, probe_args(data, "tests.probe.stubs:counted", out, "--concurrency", "2"), exit_code=130)
    cached = len(list((out / "probe-cache" / "objects").rglob("*.json")))
    assert 7 <= cached < 20
    monkeypatch.setattr(stubs, "CALLS", [])
    monkeypatch.setattr(stubs, "INTERRUPT_AT", 0)
    ran = invoke(capsys, probe_args(data, "tests.probe.stubs:counted", out), exit_code=0)
    assert f"{cached} in the cache, {20 - cached} to send" in ran.out
    assert len(stubs.CALLS) == 20 - cached


def test_a_plan_over_the_budget_is_refused_before_anything_is_sent(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(stubs, "CALLS", [])
    data, out = profiles(tmp_path / "c.csv", n=10), tmp_path / "out"
    ran = invoke(capsys, probe_args(data, "tests.probe.stubs:counted", out, "--max-requests", "19"), exit_code=2)
    assert "the plan needs 20 requests, more than --max-requests 19" in ran.err
    assert "plan: 10 profiles × 2 variants" in ran.out
    assert stubs.CALLS == []


def test_a_service_that_keeps_failing_stops_the_probe_with_a_hint(tmp_path, capsys):
    data, out = profiles(tmp_path / "c.csv", n=2), tmp_path / "out"
    adapter = tmp_path / "a.yaml"
    adapter.write_text("kind: http\nresponse: {score: score}\n", encoding="utf-8")
    with stubs.serve(lambda path, body, headers: (503, {"error": "down"}, {"Retry-After": "0"})) as url:
        ran = invoke(capsys, probe_args(data, url, out, "--adapter", adapter, "--retries", "1"), exit_code=2)
    assert "HTTP 503 (2 attempts)" in ran.err and "hint:" in ran.err


def test_service_error_is_a_fairgate_error():
    assert ServiceError("x").exit_code == 2


@pytest.mark.parametrize("missing", ["--swap", "both"])
def test_one_way_to_vary_the_signal(tmp_path, capsys, missing):
    data = profiles(tmp_path / "c.csv", n=2)
    args = probe_args(data, "tests.probe.stubs:unbiased", tmp_path / "out")
    if missing == "--swap":
        i = args.index("--names")
        del args[i : i + 2]
    else:
        args += ["--swap", "years"]
    ran = invoke(capsys, args, exit_code=2)
    assert "one way to vary the signal" in ran.err


@pytest.mark.slow
def test_signed_report_verifies_and_recomputes_from_the_outcomes(tmp_path, capsys, monkeypatch):
    """Done when: the same kind of signed report as `fairgate run`, with the paired findings, on a stub."""
    from pypdf import PdfReader

    monkeypatch.setenv("FAIRGATE_KEY_PASSPHRASE", "probe-test-only")
    key = tmp_path / "keys" / "signer.p12"
    invoke(capsys, ["keygen", "--out", key], exit_code=0)
    data, out = profiles(tmp_path / "c.csv"), tmp_path / "out"
    stubs.DRAW = 1
    args = probe_args(data, "tests.probe.stubs:biased", out, "--sign", key)
    args[args.index("--format") + 1] = "pdf,json,md"
    invoke(capsys, args, exit_code=0)
    text = "\n".join(page.extract_text() or "" for page in PdfReader(out / "report.pdf").pages)
    assert "Paired counterfactual test of a served model" in text and "This audit used test data" in text
    # the transcripts travel with the report: every cached request and response, each line's sha256 the
    # manifest's entry (the manifest whose hash results.json records)
    import gzip
    import hashlib
    import json

    reader = PdfReader(out / "report.pdf")
    [packed] = reader.attachments["probe-transcripts.jsonl.gz"]
    lines = gzip.decompress(packed).splitlines()
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert len(lines) == document["probe"]["cache"]["entries"] > 0
    [manifest] = (out / "probe-cache").glob("manifest-*.json")
    listing = json.loads(manifest.read_bytes())["entries"]
    assert {json.loads(line)["key"]: hashlib.sha256(line).hexdigest() for line in lines} == listing
    assert hashlib.sha256(manifest.read_bytes()).hexdigest() == document["probe"]["cache"]["manifest_sha256"]
    assert "probe-transcripts.jsonl.gz" in text  # named on the provenance page
    ran = invoke(
        capsys,
        [
            "verify",
            out / "report.pdf",
            "--trust",
            key.with_suffix(".cert.pem"),
            "--recompute",
            "--data",
            out / "probe-cache" / "outcomes.csv",
            "--no-ledger",
        ],
        exit_code=0,
    )
    assert "recomputed: the same results" in ran.out
