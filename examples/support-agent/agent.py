#!/usr/bin/env python3
"""A small customer-support agent, used as an evaluation target for `glassbox eval run`.

Reads one dataset item's `input` as JSON on stdin ({"question": ..., "context": ...}), asks
Claude (streaming, through the official `anthropic` SDK) to answer from the context under the
system prompt `prompts/<version>.txt`, and prints the answer on stdout.

Tracing: the OpenTelemetry SDK exports over OTLP/HTTP (the standard OTEL_* variables apply) and
OpenLLMetry instruments the Anthropic client. The root span `support-agent.answer` continues
the caller's trace from TRACEPARENT / TRACESTATE / BAGGAGE in the environment, so every item an
evaluation runs shows up under the run's trace.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from opentelemetry import baggage, context, propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

MODEL = "claude-haiku-4-5"
MAX_TOKENS = 1024
PROMPTS = Path(__file__).resolve().parent / "prompts"
VERSIONS = ("v1", "v2", "v3")


def user_message(item: dict) -> str:
    return f"<context>{item['context']}</context>\n<question>{item['question']}</question>"


def read_item() -> dict:
    try:
        item = json.load(sys.stdin)
    except json.JSONDecodeError as e:
        raise SystemExit(f"support-agent: stdin is not JSON: {e}")
    if not isinstance(item, dict) or not isinstance(item.get("question"), str) or not isinstance(item.get("context"), str):
        raise SystemExit('support-agent: stdin must be {"question": "...", "context": "..."}')
    return item


def setup_tracing(version: str) -> TracerProvider:
    resource = Resource.create({"service.name": "support-agent", "service.version": version})
    provider = TracerProvider(resource=resource)
    # The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT / _HEADERS / _TIMEOUT itself.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    AnthropicInstrumentor().instrument(tracer_provider=provider)
    return provider


def parent_context() -> context.Context:
    # The standard carrier keys are lower-case header names; the environment's are upper-case.
    carrier = {
        key.lower(): os.environ[key]
        for key in ("TRACEPARENT", "TRACESTATE", "BAGGAGE")
        if os.environ.get(key)
    }
    return propagate.extract(carrier)


def answer(item: dict, version: str) -> str:
    # Imported after instrumenting so the SDK's classes are the patched ones.
    import anthropic

    system = (PROMPTS / f"{version}.txt").read_text(encoding="utf-8").strip()
    client = anthropic.Anthropic()  # ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL
    with client.messages.stream(
        model=MODEL,
        max_tokens=MAX_TOKENS,
        system=system,
        messages=[{"role": "user", "content": user_message(item)}],
        # SDK 2.x dropped the sampling arguments from its signature, but the API still takes
        # them, and an evaluation target should be as repeatable as the model allows.
        extra_body={"temperature": 0},
    ) as stream:
        for _ in stream.text_stream:
            pass
        message = stream.get_final_message()
    return "".join(block.text for block in message.content if block.type == "text")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompt", choices=VERSIONS, default="v1", help="system prompt version (prompts/<version>.txt)")
    args = parser.parse_args()
    item = read_item()

    provider = setup_tracing(args.prompt)
    tracer = trace.get_tracer("support-agent")
    token = context.attach(parent_context())
    status = 0
    try:
        with tracer.start_as_current_span("support-agent.answer") as span:
            span.set_attribute("traceloop.prompt.version", args.prompt)
            span.set_attribute("support_agent.question", item["question"])
            for key, value in baggage.get_all().items():
                span.set_attribute(f"baggage.{key}", str(value))
            try:
                text = answer(item, args.prompt)
            except Exception as e:  # the SDK's APIError family and transport errors alike
                span.record_exception(e)
                span.set_status(trace.Status(trace.StatusCode.ERROR, str(e)))
                print(f"support-agent: the model call failed: {type(e).__name__}: {e}", file=sys.stderr)
                status = 1
            else:
                print(text, flush=True)
    finally:
        context.detach(token)
        # Spans are batched: without this the process would exit before exporting them.
        provider.shutdown()
    return status


if __name__ == "__main__":
    sys.exit(main())
