# A CGI handler in Python: run by CPython (python.wasm) with this directory
# preopened as /app. Answers JSON describing the request, and greets by
# the `name` query parameter.
import json
import os
import sys
from urllib.parse import parse_qs

length = int(os.environ.get("CONTENT_LENGTH") or 0)
body = sys.stdin.buffer.read(length) if length else b""
query = parse_qs(os.environ.get("QUERY_STRING", ""))
name = query.get("name", ["world"])[0]
answer = {
    "greeting": f"hello, {name}",
    "method": os.environ.get("REQUEST_METHOD"),
    "path": os.environ.get("PATH_INFO"),
    "body": body.decode("utf-8", "replace"),
    "python": sys.version.split()[0],
}
sys.stdout.write("Status: 200 OK\r\n")
sys.stdout.write("Content-Type: application/json\r\n\r\n")
sys.stdout.write(json.dumps(answer, sort_keys=True) + "\n")
