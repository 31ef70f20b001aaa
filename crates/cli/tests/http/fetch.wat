;; A wasi:cli/command that uses wasi:http/outgoing-handler, as a core
;; module made a component by tests/http.rs (wit-component, with the
;; world of tests/http/fetch.wit embedded). `fetch HOST:PORT` GETs
;; http://HOST:PORT/up (`fetch HOST:PORT https`: https://HOST:PORT/up) and
;; prints its body; it succeeds if the status is 203 and fails (exit
;; status 1) on any other status or error.
(module
  (import "wasi:cli/environment@0.2.12" "get-arguments" (func $get_args (param i32)))
  (import "wasi:cli/stdout@0.2.12" "get-stdout" (func $get_stdout (result i32)))
  (import "wasi:http/types@0.2.12" "[constructor]fields" (func $fields_new (result i32)))
  (import "wasi:http/types@0.2.12" "[constructor]outgoing-request"
    (func $request_new (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-request.set-authority"
    (func $set_authority (param i32 i32 i32 i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-request.set-path-with-query"
    (func $set_path (param i32 i32 i32 i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-request.set-scheme"
    (func $set_scheme (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi:http/outgoing-handler@0.2.12" "handle"
    (func $send (param i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]future-incoming-response.subscribe"
    (func $future_subscribe (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]future-incoming-response.get"
    (func $future_get (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]future-incoming-response"
    (func $drop_future (param i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-response.status"
    (func $status (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-response.consume"
    (func $consume (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]incoming-response"
    (func $drop_response (param i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-body.stream"
    (func $body_stream (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]incoming-body" (func $drop_body (param i32)))
  (import "wasi:io/poll@0.2.12" "[method]pollable.block" (func $block (param i32)))
  (import "wasi:io/poll@0.2.12" "[resource-drop]pollable" (func $drop_pollable (param i32)))
  (import "wasi:io/streams@0.2.12" "[method]output-stream.blocking-write-and-flush"
    (func $write (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.12" "[method]input-stream.blocking-read"
    (func $read (param i32 i64 i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]output-stream" (func $drop_out (param i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]input-stream" (func $drop_in (param i32)))

  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 4096))
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    (local.set $p
      (i32.and
        (i32.add (global.get $bump) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (global.set $bump (i32.add (local.get $p) (local.get $size)))
    (local.get $p))

  (data (i32.const 320) "/up")

  (func (export "wasi:cli/run@0.2.12#run") (result i32)
    (local $args i32) (local $req i32) (local $future i32) (local $p i32)
    (local $resp i32) (local $body i32) (local $is i32) (local $os i32)
    ;; list<string> at 0x100: the authority is argv[1].
    (call $get_args (i32.const 0x100))
    (if (i32.lt_u (i32.load (i32.const 0x104)) (i32.const 2))
      (then (return (i32.const 1))))
    (local.set $args (i32.load (i32.const 0x100)))
    (local.set $req (call $request_new (call $fields_new)))
    (drop (call $set_authority (local.get $req) (i32.const 1)
      (i32.load offset=8 (local.get $args)) (i32.load offset=12 (local.get $args))))
    (drop (call $set_path (local.get $req) (i32.const 1) (i32.const 320) (i32.const 3)))
    ;; A third argument: some(HTTPS).
    (if (i32.ge_u (i32.load (i32.const 0x104)) (i32.const 3))
      (then (drop (call $set_scheme (local.get $req) (i32.const 1) (i32.const 1)
        (i32.const 0) (i32.const 0)))))
    ;; result<future-incoming-response, error-code> at 0x500
    (call $send (local.get $req) (i32.const 0) (i32.const 0) (i32.const 0x500))
    (if (i32.load8_u (i32.const 0x500)) (then (return (i32.const 1))))
    (local.set $future (i32.load (i32.const 0x508)))
    (local.set $p (call $future_subscribe (local.get $future)))
    (call $block (local.get $p))
    (call $drop_pollable (local.get $p))
    ;; option<result<result<incoming-response, error-code>>> at 0x520
    (call $future_get (local.get $future) (i32.const 0x520))
    (call $drop_future (local.get $future))
    (if (i32.or (i32.eqz (i32.load8_u (i32.const 0x520)))
                (i32.or (i32.load8_u (i32.const 0x528)) (i32.load8_u (i32.const 0x530))))
      (then (return (i32.const 1))))
    (local.set $resp (i32.load (i32.const 0x538)))
    (if (i32.ne (call $status (local.get $resp)) (i32.const 203))
      (then (return (i32.const 1))))
    (call $consume (local.get $resp) (i32.const 0x540))
    (local.set $body (i32.load (i32.const 0x544)))
    (call $body_stream (local.get $body) (i32.const 0x550))
    (local.set $is (i32.load (i32.const 0x554)))
    (local.set $os (call $get_stdout))
    (block $done
      (loop $more
        ;; result<list<u8>, stream-error> at 0x470
        (call $read (local.get $is) (i64.const 4096) (i32.const 0x470))
        (br_if $done (i32.load8_u (i32.const 0x470)))
        (call $write (local.get $os) (i32.load (i32.const 0x474))
          (i32.load (i32.const 0x478)) (i32.const 0x440))
        (br $more)))
    (call $drop_out (local.get $os))
    (call $drop_in (local.get $is))
    (call $drop_body (local.get $body))
    (call $drop_response (local.get $resp))
    (i32.const 0))
)
