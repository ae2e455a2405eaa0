#!/usr/bin/env python3
"""Scripted stand-in model server for agent CLIs (Python 3 stdlib only).

One process speaks all three wire protocols; the protocol is chosen by the
request path:

  POST /v1/messages[?beta=true]                      Anthropic Messages API (Claude Code)
  POST /v1/messages/count_tokens                     Anthropic token counting (stub)
  POST .../responses                                 OpenAI Responses API (Codex, wire_api="responses")
  POST .../models/<m>:streamGenerateContent[?alt=sse] Gemini API (Gemini CLI)
  POST .../models/<m>:generateContent                Gemini API, non-streaming (side requests)
  POST .../models/<m>:countTokens                    Gemini token counting (stub)

Usage:
  standin.py --script script.json --log requests.jsonl [--port 0] [--port-file F]

Script file (JSON):
  {"steps": [
     {"shell": "touch /tmp/x/ran"},                      # shell tool call
     {"write": {"path": "/abs/file", "content": "hi\n"}},  # file write (Claude Write, Gemini write_file, Codex apply_patch Add File)
     {"edit":  {"path": "/abs/file", "old": "hi", "new": "yo"}},  # Claude Edit, Gemini replace, Codex apply_patch Update File
     {"delete": {"path": "/abs/file"}},                  # Codex apply_patch Delete File (others: shell rm)
     {"raw": {"name": "ToolName", "input": {...}}},      # any tool call verbatim (Codex custom tool: "input" is a string;
                                                         #  Codex namespaced MCP tool: add "namespace": "mcp__srv__")
     {"codex_item": {"type": "tool_search_call", "execution": "client",
                     "arguments": {"query": "touch_file"}}},  # Codex only: verbatim output item
     {"final": "All done."}                              # final text answer
  ]}

Turn selection is stateless: for a request that carries tools (the agent's main
loop), step index = number of tool results already present in the request's
conversation.  When the index is past the last tool step, the server answers
with the "final" text (or "DONE") followed by every tool result it has seen in
this conversation, one per line, prefixed "TOOL_RESULT[i]: ", so a test can
check in the agent's printed answer whether the tool ran or was refused.

Side requests (no tools: title generation, classifiers, next-speaker checks)
get a short text answer, or for Gemini JSON-schema requests a JSON object that
fits the schema.  Every request (method, path, headers subset, body) is
appended as one JSON line to the log file.
"""
import argparse
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

ARGS = None
LOCK = threading.Lock()


def load_script():
    with open(ARGS.script) as f:
        return json.load(f)


def log_request(method, path, headers, body_text):
    try:
        body = json.loads(body_text) if body_text else None
    except Exception:
        body = body_text
    rec = {
        "ts": time.time(),
        "method": method,
        "path": path,
        "headers": {k: v for k, v in headers.items()
                    if k.lower() in ("user-agent", "content-type", "accept", "x-api-key",
                                     "authorization", "anthropic-version", "anthropic-beta",
                                     "x-goog-api-key", "originator", "session_id")},
        "body": body,
    }
    with LOCK:
        with open(ARGS.log, "a") as f:
            f.write(json.dumps(rec) + "\n")


def final_text(step, results):
    text = (step or {}).get("final", "DONE")
    lines = [text]
    for i, r in enumerate(results):
        lines.append("TOOL_RESULT[%d]: %s" % (i, r.replace("\n", "\\n")))
    return "\n".join(lines)


def pick_step(n_results):
    steps = load_script().get("steps", [])
    tool_steps = [s for s in steps if "final" not in s]
    finals = [s for s in steps if "final" in s]
    if n_results < len(tool_steps):
        return tool_steps[n_results], False
    return (finals[0] if finals else {"final": "DONE"}), True


def patch_for(step):
    if "write" in step:
        w = step["write"]
        body = "".join("+" + l + "\n" for l in w["content"].rstrip("\n").split("\n"))
        return "*** Begin Patch\n*** Add File: %s\n%s*** End Patch\n" % (w["path"], body)
    if "edit" in step:
        e = step["edit"]
        return ("*** Begin Patch\n*** Update File: %s\n@@\n-%s\n+%s\n*** End Patch\n"
                % (e["path"], e["old"], e["new"]))
    if "delete" in step:
        return "*** Begin Patch\n*** Delete File: %s\n*** End Patch\n" % step["delete"]["path"]
    raise ValueError(step)


# ----------------------------------------------------------------------------- Anthropic
def anthropic_results(body):
    out = []
    for m in body.get("messages", []):
        c = m.get("content")
        if isinstance(c, list):
            for b in c:
                if isinstance(b, dict) and b.get("type") == "tool_result":
                    cc = b.get("content")
                    if isinstance(cc, list):
                        cc = "".join(x.get("text", "") for x in cc if isinstance(x, dict))
                    out.append(("ERROR: " if b.get("is_error") else "") + str(cc))
    return out


def anthropic_call(step):
    if "shell" in step:
        return "Bash", {"command": step["shell"], "description": "scripted shell call"}
    if "write" in step:
        return "Write", {"file_path": step["write"]["path"], "content": step["write"]["content"]}
    if "edit" in step:
        e = step["edit"]
        return "Edit", {"file_path": e["path"], "old_string": e["old"], "new_string": e["new"]}
    if "delete" in step:
        return "Bash", {"command": "rm -f " + step["delete"]["path"], "description": "delete"}
    if "raw" in step:
        return step["raw"]["name"], step["raw"]["input"]
    raise ValueError(step)


def anthropic_reply(body):
    """Returns (content_blocks, stop_reason)."""
    if not body.get("tools"):
        return [{"type": "text", "text": "Scripted side answer."}], "end_turn"
    results = anthropic_results(body)
    step, is_final = pick_step(len(results))
    if is_final:
        return [{"type": "text", "text": final_text(step, results)}], "end_turn"
    name, inp = anthropic_call(step)
    return [{"type": "tool_use", "id": "toolu_%s" % uuid.uuid4().hex[:20], "name": name,
             "input": inp}], "tool_use"


def anthropic_sse(handler, body, blocks, stop):
    model = body.get("model", "claude-standin")
    mid = "msg_%s" % uuid.uuid4().hex[:20]
    ev = []
    ev.append(("message_start", {"type": "message_start", "message": {
        "id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1,
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}))
    for i, b in enumerate(blocks):
        if b["type"] == "text":
            ev.append(("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": {"type": "text", "text": ""}}))
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                               "delta": {"type": "text_delta", "text": b["text"]}}))
        else:
            ev.append(("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": {"type": "tool_use", "id": b["id"],
                                                                 "name": b["name"], "input": {}}}))
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                               "delta": {"type": "input_json_delta",
                                                         "partial_json": json.dumps(b["input"])}}))
        ev.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    ev.append(("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": stop, "stop_sequence": None},
                                 "usage": {"output_tokens": 20}}))
    ev.append(("message_stop", {"type": "message_stop"}))
    send_sse(handler, ev)


def anthropic_json(body, blocks, stop):
    return {"id": "msg_%s" % uuid.uuid4().hex[:20], "type": "message", "role": "assistant",
            "model": body.get("model", "claude-standin"), "content": blocks,
            "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 20}}


# ----------------------------------------------------------------------------- OpenAI Responses
def openai_results(body):
    out = []
    inp = body.get("input", [])
    if isinstance(inp, list):
        for it in inp:
            if isinstance(it, dict) and it.get("type") in ("function_call_output",
                                                           "custom_tool_call_output",
                                                           "tool_search_output"):
                o = it.get("output", it.get("tools"))
                if not isinstance(o, str):
                    o = json.dumps(o)
                out.append(o)
    return out


def openai_tool_names(body):
    names = {}
    for t in body.get("tools", []) or []:
        n = t.get("name") or (t.get("function") or {}).get("name")
        if n:
            names[n] = t.get("type")
    return names


def openai_item(body, step):
    names = openai_tool_names(body)
    cid = "call_%s" % uuid.uuid4().hex[:20]
    if "codex_item" in step:  # verbatim Responses API output item; call_id filled in
        it = dict(step["codex_item"])
        it.setdefault("call_id", cid)
        it.setdefault("id", "it_" + cid)
        it.setdefault("status", "completed")
        return it
    if "raw" in step:
        name, inp = step["raw"]["name"], step["raw"]["input"]
        if step["raw"].get("namespace"):
            return {"type": "function_call", "id": "fc_" + cid, "call_id": cid, "name": name,
                    "namespace": step["raw"]["namespace"], "arguments": json.dumps(inp),
                    "status": "completed"}
        if isinstance(inp, str):
            return {"type": "custom_tool_call", "id": "ctc_" + cid, "call_id": cid,
                    "name": name, "input": inp, "status": "completed"}
        return {"type": "function_call", "id": "fc_" + cid, "call_id": cid, "name": name,
                "arguments": json.dumps(inp), "status": "completed"}
    if "shell" in step:
        cmd = step["shell"]
        if "exec_command" in names:
            name, args = "exec_command", {"cmd": cmd, "yield_time_ms": 10000}
        elif "shell_command" in names:
            name, args = "shell_command", {"command": cmd}
        else:
            name, args = "shell", {"command": ["bash", "-lc", cmd]}
        return {"type": "function_call", "id": "fc_" + cid, "call_id": cid, "name": name,
                "arguments": json.dumps(args), "status": "completed"}
    patch = patch_for(step)
    if names.get("apply_patch") == "function":
        return {"type": "function_call", "id": "fc_" + cid, "call_id": cid,
                "name": "apply_patch", "arguments": json.dumps({"input": patch}),
                "status": "completed"}
    return {"type": "custom_tool_call", "id": "ctc_" + cid, "call_id": cid,
            "name": "apply_patch", "input": patch, "status": "completed"}


def openai_reply_items(body):
    if not body.get("tools"):
        text = "Scripted side answer."
        items = []
    else:
        results = openai_results(body)
        step, is_final = pick_step(len(results))
        if not is_final:
            return [openai_item(body, step)]
        text = final_text(step, results)
    return [{"type": "message", "role": "assistant", "id": "msg_%s" % uuid.uuid4().hex[:20],
             "status": "completed",
             "content": [{"type": "output_text", "text": text, "annotations": []}]}]


def openai_sse(handler, body, items):
    rid = "resp_%s" % uuid.uuid4().hex[:20]
    base = {"id": rid, "object": "response", "created_at": int(time.time()),
            "model": body.get("model", "standin"), "status": "in_progress", "output": []}
    ev = [("response.created", {"type": "response.created", "response": base})]
    for i, it in enumerate(items):
        ev.append(("response.output_item.added", {"type": "response.output_item.added",
                                                  "output_index": i, "item": it}))
        if it["type"] == "message":
            ev.append(("response.output_text.delta", {
                "type": "response.output_text.delta", "item_id": it["id"], "output_index": i,
                "content_index": 0, "delta": it["content"][0]["text"]}))
        ev.append(("response.output_item.done", {"type": "response.output_item.done",
                                                 "output_index": i, "item": it}))
    done = dict(base, status="completed", output=items,
                usage={"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
                       "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 0},
                       "total_tokens": 30})
    ev.append(("response.completed", {"type": "response.completed", "response": done}))
    send_sse(handler, ev)


# ----------------------------------------------------------------------------- Gemini
def gemini_results(body):
    out = []
    for c in body.get("contents", []):
        for p in c.get("parts", []) or []:
            if "functionResponse" in p:
                out.append(json.dumps(p["functionResponse"].get("response")))
    return out


def gemini_call(step):
    if "shell" in step:
        return "run_shell_command", {"command": step["shell"], "description": "scripted shell call"}
    if "write" in step:
        return "write_file", {"file_path": step["write"]["path"], "content": step["write"]["content"]}
    if "edit" in step:
        e = step["edit"]
        return "replace", {"file_path": e["path"], "old_string": e["old"], "new_string": e["new"],
                           "instruction": "scripted edit"}
    if "delete" in step:
        return "run_shell_command", {"command": "rm -f " + step["delete"]["path"]}
    if "raw" in step:
        return step["raw"]["name"], step["raw"]["input"]
    raise ValueError(step)


def value_for_schema(s):
    if not isinstance(s, dict):
        return "x"
    t = s.get("type")
    if isinstance(t, str):
        t = t.lower()
    if "enum" in s and s["enum"]:
        return s["enum"][0]
    if t == "object" or "properties" in s:
        return {k: value_for_schema(v) for k, v in (s.get("properties") or {}).items()}
    if t == "array":
        return []
    if t in ("integer", "number"):
        return s.get("minimum", 1)
    if t == "boolean":
        return False
    return "scripted"


def gemini_reply(body):
    gc = body.get("generationConfig") or {}
    schema = gc.get("responseJsonSchema") or gc.get("responseSchema")
    if schema is not None or gc.get("responseMimeType") == "application/json":
        parts = [{"text": json.dumps(value_for_schema(schema or {}))}]
    elif not body.get("tools"):
        parts = [{"text": "Scripted side answer."}]
    else:
        results = gemini_results(body)
        step, is_final = pick_step(len(results))
        if is_final:
            parts = [{"text": final_text(step, results)}]
        else:
            name, args = gemini_call(step)
            parts = [{"functionCall": {"name": name, "args": args}}]
    return {"candidates": [{"content": {"role": "model", "parts": parts},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 20,
                              "totalTokenCount": 30},
            "modelVersion": "gemini-standin"}


# ----------------------------------------------------------------------------- HTTP
def send_sse(handler, events):
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Cache-Control", "no-cache")
    handler.send_header("Connection", "close")
    handler.end_headers()
    for name, data in events:
        chunk = ""
        if name:
            chunk += "event: %s\n" % name
        chunk += "data: %s\n\n" % json.dumps(data)
        handler.wfile.write(chunk.encode())
        handler.wfile.flush()
    handler.close_connection = True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        if ARGS.verbose:
            sys.stderr.write("standin: " + fmt % a + "\n")

    def send_json(self, obj, code=200):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_HEAD(self):
        log_request("HEAD", self.path, self.headers, "")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        log_request("GET", self.path, self.headers, "")
        p = urlparse(self.path).path
        if p.endswith("/models"):
            return self.send_json({"object": "list", "data": [], "models": []})
        self.send_json({})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        log_request("POST", self.path, self.headers, raw)
        try:
            body = json.loads(raw) if raw else {}
        except Exception:
            body = {}
        p = urlparse(self.path).path
        try:
            if p.endswith("/messages/count_tokens"):
                return self.send_json({"input_tokens": 10})
            if p.endswith("/messages"):
                blocks, stop = anthropic_reply(body)
                if body.get("stream"):
                    return anthropic_sse(self, body, blocks, stop)
                return self.send_json(anthropic_json(body, blocks, stop))
            if p.endswith("/responses"):
                items = openai_reply_items(body)
                return openai_sse(self, body, items)
            if p.endswith(":countTokens"):
                return self.send_json({"totalTokens": 10})
            if p.endswith(":streamGenerateContent"):
                return send_sse(self, [(None, gemini_reply(body))])
            if p.endswith(":generateContent"):
                return self.send_json(gemini_reply(body))
            self.send_json({"error": {"message": "standin: unknown path " + p}}, 404)
        except Exception as e:  # report scripting errors to the client and the log
            import traceback
            traceback.print_exc()
            self.send_json({"error": {"message": "standin error: %r" % e}}, 500)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--verbose", action="store_true")
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    port = srv.server_address[1]
    if ARGS.port_file:
        tmp = ARGS.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, ARGS.port_file)
    sys.stderr.write("standin listening on 127.0.0.1:%d\n" % port)
    sys.stderr.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
