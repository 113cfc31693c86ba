#!/usr/bin/env python3
"""An OpenAI-compatible Chat Completions endpoint for the app's end-to-end tests (OpenAI's cloud
is not reachable here). It speaks the exact streaming wire format: `data: {chunk}` lines with
`chat.completion.chunk` objects, a usage chunk when `stream_options.include_usage` is set, then
`data: [DONE]`. The answer to a redraft is fixed so the test can look for it.

    python3 openai_standin.py PORT
"""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = "The Supplier must indemnify the Client in full."


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        if not self.path.endswith("/chat/completions"):
            self.send_error(404)
            return
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
        if self.headers.get("authorization") != "Bearer sk-e2e-standin-key":
            self.send_response(401)
            payload = json.dumps({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                            "code": "invalid_api_key"}}).encode()
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        created = int(time.time())
        model = body.get("model", "gpt-4o")

        def chunk(choices, usage=None):
            obj = {"id": "chatcmpl-e2e", "object": "chat.completion.chunk", "created": created, "model": model,
                   "system_fingerprint": "fp_e2e", "choices": choices}
            if usage is not None:
                obj["usage"] = usage
            self.write(f"data: {json.dumps(obj)}\n\n")

        chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}])
        words = ANSWER.split(" ")
        for index, word in enumerate(words):
            time.sleep(0.05)
            text = word if index == 0 else " " + word
            chunk([{"index": 0, "delta": {"content": text}, "logprobs": None, "finish_reason": None}])
        chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}])
        if body.get("stream_options", {}).get("include_usage"):
            chunk([], {"prompt_tokens": 50, "completion_tokens": len(words), "total_tokens": 50 + len(words)})
        self.write("data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def write(self, text: str):
        data = text.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
