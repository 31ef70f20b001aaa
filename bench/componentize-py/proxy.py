from wit_world import exports
from wit_world.imports.types import (
    IncomingRequest, ResponseOutparam, OutgoingResponse, Fields, OutgoingBody,
)

class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        path = request.path_with_query() or "/"
        body_in = request.consume()
        stream = body_in.stream()
        data = b""
        while True:
            try:
                chunk = stream.blocking_read(65536)
            except Exception:
                break
            data += chunk
        stream.__exit__(None, None, None)
        response = OutgoingResponse(Fields.from_list([("content-type", b"text/plain")]))
        body = response.body()
        ResponseOutparam.set(response_out, ok_response(response))
        out = body.write()
        out.blocking_write_and_flush(f"python says hello {path} {len(data)}\n".encode())
        out.__exit__(None, None, None)
        OutgoingBody.finish(body, None)

def ok_response(r):
    from componentize_py_types import Ok
    return Ok(r)
