;; A wasi:http/proxy handler as a core module, made a component by
;; tests/proxy.rs (wit-component, with the proxy world's WIT embedded).
;; It answers "hello <path-with-query>\n" followed by the request body;
;; /created answers 201, /trap traps, /silent returns without a response,
;; /unfinished writes a body it never finishes, /error answers an error;
;; /fetch?HOST:PORT answers with what GET http://HOST:PORT/up returns
;; (its status and body), or 502 if the request fails.
(module
  (import "wasi:http/types@0.2.12" "[constructor]fields" (func $fields_new (result i32)))
  (import "wasi:http/types@0.2.12" "[method]fields.append"
    (func $fields_append (param i32 i32 i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[constructor]outgoing-response"
    (func $response_new (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-response.set-status-code"
    (func $set_status (param i32 i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-response.body"
    (func $response_body (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-body.write"
    (func $body_write (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[static]outgoing-body.finish"
    (func $body_finish (param i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[static]response-outparam.set"
    (func $outparam_set (param i32 i32 i32 i32 i64 i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-request.path-with-query"
    (func $path (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-request.consume"
    (func $consume (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-body.stream"
    (func $in_stream (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]incoming-body" (func $drop_in_body (param i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]incoming-request" (func $drop_request (param i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]outgoing-body" (func $drop_out_body (param i32)))
  (import "wasi:http/types@0.2.12" "[constructor]outgoing-request"
    (func $request_new (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-request.set-authority"
    (func $set_authority (param i32 i32 i32 i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-request.set-path-with-query"
    (func $set_path (param i32 i32 i32 i32) (result i32)))
  (import "wasi:http/outgoing-handler@0.2.12" "handle"
    (func $send (param i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]future-incoming-response.subscribe"
    (func $future_subscribe (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]future-incoming-response.get"
    (func $future_get (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]future-incoming-response"
    (func $drop_future (param i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-response.status"
    (func $upstream_status (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-response.consume"
    (func $upstream_consume (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]incoming-response"
    (func $drop_upstream (param i32)))
  (import "wasi:io/poll@0.2.12" "[method]pollable.block" (func $block (param i32)))
  (import "wasi:io/poll@0.2.12" "[resource-drop]pollable" (func $drop_pollable (param i32)))
  (import "wasi:io/streams@0.2.12" "[method]output-stream.blocking-write-and-flush"
    (func $write (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.12" "[method]input-stream.blocking-read"
    (func $read (param i32 i64 i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]output-stream" (func $drop_out (param i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]input-stream" (func $drop_in (param i32)))

  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (data (i32.const 100) "content-type")
  (data (i32.const 120) "text/plain")
  (data (i32.const 140) "hello ")
  (data (i32.const 160) "\n")

  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32)
    (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
      (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.const 16)))))
    (local.get $p))

  ;; Whether the path (at $ptr, $len) starts with the string at $s, $n.
  (func $starts (param $ptr i32) (param $len i32) (param $s i32) (param $n i32) (result i32)
    (local $i i32)
    (if (i32.lt_u (local.get $len) (local.get $n)) (then (return (i32.const 0))))
    (block $no
      (loop $l
        (if (i32.ge_u (local.get $i) (local.get $n)) (then (return (i32.const 1))))
        (br_if $no (i32.ne (i32.load8_u (i32.add (local.get $ptr) (local.get $i)))
                           (i32.load8_u (i32.add (local.get $s) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.const 0))

  (data (i32.const 200) "/created")
  (data (i32.const 220) "/trap")
  (data (i32.const 240) "/silent")
  (data (i32.const 260) "/unfinished")
  (data (i32.const 280) "/error")
  (data (i32.const 300) "/fetch?")
  (data (i32.const 320) "/up")

  ;; Answers $out with status $status and the body of input stream $is
  ;; (0: no body).
  (func $answer (param $out i32) (param $status i32) (param $is i32)
    (local $resp i32) (local $body i32) (local $os i32)
    (local.set $resp (call $response_new (call $fields_new)))
    (drop (call $set_status (local.get $resp) (local.get $status)))
    (call $response_body (local.get $resp) (i32.const 0x420))
    (local.set $body (i32.load (i32.const 0x424)))
    (call $body_write (local.get $body) (i32.const 0x430))
    (local.set $os (i32.load (i32.const 0x434)))
    (call $outparam_set (local.get $out) (i32.const 0) (local.get $resp) (i32.const 0)
      (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
    (if (local.get $is)
      (then
        (block $done
          (loop $more
            (call $read (local.get $is) (i64.const 4096) (i32.const 0x470))
            (br_if $done (i32.load8_u (i32.const 0x470)))
            (call $write (local.get $os) (i32.load (i32.const 0x474))
              (i32.load (i32.const 0x478)) (i32.const 0x440))
            (br $more)))))
    (call $drop_out (local.get $os))
    (call $body_finish (local.get $body) (i32.const 0) (i32.const 0) (i32.const 0x480)))

  ;; GET http://<authority>/up, the authority being the query of $path.
  (func $fetch (param $out i32) (param $path i32) (param $plen i32)
    (local $req i32) (local $future i32) (local $p i32) (local $resp i32)
    (local $body i32) (local $is i32)
    (local.set $req (call $request_new (call $fields_new)))
    (drop (call $set_authority (local.get $req) (i32.const 1)
      (i32.add (local.get $path) (i32.const 7)) (i32.sub (local.get $plen) (i32.const 7))))
    (drop (call $set_path (local.get $req) (i32.const 1) (i32.const 320) (i32.const 3)))
    (call $send (local.get $req) (i32.const 0) (i32.const 0) (i32.const 0x500))
    (if (i32.load8_u (i32.const 0x500))
      (then (call $answer (local.get $out) (i32.const 502) (i32.const 0)) (return)))
    (local.set $future (i32.load (i32.const 0x508)))
    (local.set $p (call $future_subscribe (local.get $future)))
    (call $block (local.get $p))
    (call $drop_pollable (local.get $p))
    ;; option<result<result<incoming-response, error-code>>> at 0x520
    (call $future_get (local.get $future) (i32.const 0x520))
    (call $drop_future (local.get $future))
    (if (i32.or (i32.eqz (i32.load8_u (i32.const 0x520)))
                (i32.or (i32.load8_u (i32.const 0x528)) (i32.load8_u (i32.const 0x530))))
      (then (call $answer (local.get $out) (i32.const 502) (i32.const 0)) (return)))
    (local.set $resp (i32.load (i32.const 0x538)))
    (call $upstream_consume (local.get $resp) (i32.const 0x540))
    (local.set $body (i32.load (i32.const 0x544)))
    (call $in_stream (local.get $body) (i32.const 0x550))
    (local.set $is (i32.load (i32.const 0x554)))
    (call $answer (local.get $out) (call $upstream_status (local.get $resp)) (local.get $is))
    (call $drop_in (local.get $is))
    (call $drop_in_body (local.get $body))
    (call $drop_upstream (local.get $resp)))

  (func (export "wasi:http/incoming-handler@0.2.12#handle") (param $req i32) (param $out i32)
    (local $path i32) (local $plen i32) (local $headers i32) (local $resp i32)
    (local $body i32) (local $os i32) (local $inbody i32) (local $is i32)
    ;; path-with-query: option<string> at 0x400
    (call $path (local.get $req) (i32.const 0x400))
    (local.set $path (i32.load (i32.const 0x404)))
    (local.set $plen (i32.load (i32.const 0x408)))
    (if (call $starts (local.get $path) (local.get $plen) (i32.const 220) (i32.const 5))
      (then unreachable))
    (if (call $starts (local.get $path) (local.get $plen) (i32.const 240) (i32.const 7))
      (then (call $drop_request (local.get $req)) (return)))
    (if (call $starts (local.get $path) (local.get $plen) (i32.const 300) (i32.const 7))
      (then
        (call $fetch (local.get $out) (local.get $path) (local.get $plen))
        (call $drop_request (local.get $req))
        (return)))
    (if (call $starts (local.get $path) (local.get $plen) (i32.const 280) (i32.const 6))
      (then
        ;; err(internal-error(none)): case 38 of error-code
        (call $outparam_set (local.get $out) (i32.const 1) (i32.const 38) (i32.const 0)
          (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
        (call $drop_request (local.get $req))
        (return)))
    ;; headers
    (local.set $headers (call $fields_new))
    (call $fields_append (local.get $headers) (i32.const 100) (i32.const 12)
      (i32.const 120) (i32.const 10) (i32.const 0x410))
    (local.set $resp (call $response_new (local.get $headers)))
    (if (call $starts (local.get $path) (local.get $plen) (i32.const 200) (i32.const 8))
      (then (drop (call $set_status (local.get $resp) (i32.const 201)))))
    ;; body and its stream
    (call $response_body (local.get $resp) (i32.const 0x420))
    (local.set $body (i32.load (i32.const 0x424)))
    (call $body_write (local.get $body) (i32.const 0x430))
    (local.set $os (i32.load (i32.const 0x434)))
    ;; set ok(response)
    (call $outparam_set (local.get $out) (i32.const 0) (local.get $resp) (i32.const 0)
      (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
    (call $write (local.get $os) (i32.const 140) (i32.const 6) (i32.const 0x440))
    (call $write (local.get $os) (local.get $path) (local.get $plen) (i32.const 0x440))
    (call $write (local.get $os) (i32.const 160) (i32.const 1) (i32.const 0x440))
    ;; echo the request body
    (call $consume (local.get $req) (i32.const 0x450))
    (local.set $inbody (i32.load (i32.const 0x454)))
    (call $in_stream (local.get $inbody) (i32.const 0x460))
    (local.set $is (i32.load (i32.const 0x464)))
    (block $done
      (loop $more
        (call $read (local.get $is) (i64.const 4096) (i32.const 0x470))
        (br_if $done (i32.load8_u (i32.const 0x470)))
        (call $write (local.get $os) (i32.load (i32.const 0x474)) (i32.load (i32.const 0x478))
          (i32.const 0x440))
        (br $more)))
    (call $drop_in (local.get $is))
    (call $drop_in_body (local.get $inbody))
    (call $drop_request (local.get $req))
    (call $drop_out (local.get $os))
    (if (call $starts (local.get $path) (local.get $plen) (i32.const 260) (i32.const 11))
      (then (call $drop_out_body (local.get $body)) (return)))
    (call $body_finish (local.get $body) (i32.const 0) (i32.const 0) (i32.const 0x480)))
)
