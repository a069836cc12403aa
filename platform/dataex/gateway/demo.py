"""A small upstream to try the gateway with: a dataset API and a model that reports usage.

`dataex gateway --demo` runs it on a free port behind the gateway. The model is
not a model: it echoes, and reports as usage one token per word of the prompt
and of its answer (OpenAI's `usage` object), which is all metering needs.
"""

from __future__ import annotations

from typing import Any

import msgspec

from dataex.gateway.proxy import Receive, Scope, Send, read_body, send_bytes

ROWS = [{"taxi": f"T{n % 40:03d}", "minute": f"2025-06-01T08:{n % 60:02d}",
         "lat": round(22.5 + (n % 17) * 0.003, 4), "lon": round(114.05 + (n % 23) * 0.004, 4),
         "speed_kmh": 18 + (n * 7) % 45} for n in range(500)]


async def demo_upstream(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    path, method = scope["path"], scope["method"]
    if method == "GET" and path == "/datasets/taxi-trajectories":
        query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&") if "=" in p)
        limit = min(int(query.get("limit", "10")) if query.get("limit", "").isdigit() else 10, 500)
        return await send_bytes(send, 200, "application/json",
                           msgspec.json.encode({"rows": ROWS[:limit], "of": len(ROWS)}))
    if method == "POST" and path == "/v1/chat/completions":
        call: Any = msgspec.json.decode(body or b"{}")
        prompt = " ".join(str(m.get("content", "")) for m in call.get("messages", []))
        answer_words = (["echo:", *prompt.split()])[: int(call.get("max_tokens", 64))]
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(answer_words)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return await send_bytes(send, 200, "application/json", msgspec.json.encode({
            "object": "chat.completion", "model": call.get("model", "demo"),
            "choices": [{"index": 0, "message": {"role": "assistant",
                                                 "content": " ".join(answer_words)}}],
            "usage": usage}))
    await send_bytes(send, 404, "application/json", b'{"error": "no such path"}')
