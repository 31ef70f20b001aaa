//! WASI 0.2 `wasi:sockets` from a component: TCP connect and listen/accept
//! against host sockets with bytes both ways through the streams, UDP
//! datagrams both ways, name lookup, and the policy (no network without
//! `inherit_network`, no lookups without `allow_ip_name_lookup`, the
//! address check, `allow_tcp`/`allow_udp`) and the bounds a hostile guest
//! meets (the socket limit, `receive`'s cap, `send` beyond its permit).
//!
//! The guest is one component whose core module wraps each WASI call in
//! a small function the test calls with numbers: results are a handle,
//! a count or 0 on success and `-1 - error-code` on failure, and the
//! test peeks at the guest's memory for the rest (`RET` is where every
//! call's return area is).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use hayate::{Engine, Store};
use hayate_component::{Component, Instance, Linker, Val};
use hayate_wasi::{SocketAddrUse, WasiCtx, WasiCtxBuilder};

/// The return area of every call.
const RET: u32 = 256;
/// "hello from guest", what `write` and `udp-send` send (at 1024 in the
/// guest's memory).
const GREETING: &[u8] = b"hello from guest";
/// Names for `lookup`.
const LOCALHOST: (u32, u32) = (0x300, 9);
const BAD_NAME: (u32, u32) = (0x320, 8);
const LITERAL: (u32, u32) = (0x340, 9);

/// `error-code` cases, in the WIT's order.
const CODES: &[&str] = &[
    "unknown",
    "access-denied",
    "not-supported",
    "invalid-argument",
    "out-of-memory",
    "timeout",
    "concurrency-conflict",
    "not-in-progress",
    "would-block",
    "invalid-state",
    "new-socket-limit",
    "address-not-bindable",
    "address-in-use",
    "remote-unreachable",
    "connection-refused",
    "connection-reset",
    "connection-aborted",
    "datagram-too-large",
    "name-unresolvable",
    "temporary-resolver-failure",
    "permanent-resolver-failure",
];

/// What a wrapper returns for error code `name`.
fn fail(name: &str) -> i32 {
    let i = CODES.iter().position(|c| *c == name).unwrap();
    -1 - i as i32
}

/// The component's imports: the interfaces' types declared inline.
const IMPORTS: &str = r#"
  (import "wasi:io/error@0.2.12" (instance $error-i
    (export "error" (type (sub resource)))))
  (alias export $error-i "error" (type $error))
  (import "wasi:io/poll@0.2.12" (instance $poll
    (export "pollable" (type $p (sub resource)))
    (export "[method]pollable.block" (func (param "self" (borrow $p))))))
  (alias export $poll "pollable" (type $pollable))
  (import "wasi:io/streams@0.2.12" (instance $streams
    (alias outer 1 $error (type $e0)) (export "error" (type $e (eq $e0)))
    (alias outer 1 $pollable (type $p0)) (export "pollable" (type $p (eq $p0)))
    (type $se0 (variant (case "last-operation-failed" (own $e)) (case "closed")))
    (export "stream-error" (type $se (eq $se0)))
    (export "input-stream" (type $is (sub resource)))
    (export "output-stream" (type $os (sub resource)))
    (export "[method]input-stream.blocking-read"
      (func (param "self" (borrow $is)) (param "len" u64) (result (result (list u8) (error $se)))))
    (export "[method]output-stream.blocking-write-and-flush"
      (func (param "self" (borrow $os)) (param "contents" (list u8)) (result (result (error $se)))))))
  (alias export $streams "input-stream" (type $input))
  (alias export $streams "output-stream" (type $output))
  (import "wasi:sockets/network@0.2.12" (instance $network
    (export "network" (type $n (sub resource)))
    (type $ec0 (enum "unknown" "access-denied" "not-supported" "invalid-argument"
      "out-of-memory" "timeout" "concurrency-conflict" "not-in-progress" "would-block"
      "invalid-state" "new-socket-limit" "address-not-bindable" "address-in-use"
      "remote-unreachable" "connection-refused" "connection-reset" "connection-aborted"
      "datagram-too-large" "name-unresolvable" "temporary-resolver-failure"
      "permanent-resolver-failure"))
    (export "error-code" (type $ec (eq $ec0)))
    (type $f0 (enum "ipv4" "ipv6"))
    (export "ip-address-family" (type $f (eq $f0)))
    (type $v40 (tuple u8 u8 u8 u8))
    (export "ipv4-address" (type $v4 (eq $v40)))
    (type $v60 (tuple u16 u16 u16 u16 u16 u16 u16 u16))
    (export "ipv6-address" (type $v6 (eq $v60)))
    (type $ip0 (variant (case "ipv4" $v4) (case "ipv6" $v6)))
    (export "ip-address" (type $ip (eq $ip0)))
    (type $v4sa0 (record (field "port" u16) (field "address" $v4)))
    (export "ipv4-socket-address" (type $v4sa (eq $v4sa0)))
    (type $v6sa0 (record (field "port" u16) (field "flow-info" u32) (field "address" $v6)
      (field "scope-id" u32)))
    (export "ipv6-socket-address" (type $v6sa (eq $v6sa0)))
    (type $sa0 (variant (case "ipv4" $v4sa) (case "ipv6" $v6sa)))
    (export "ip-socket-address" (type $sa (eq $sa0)))))
  (alias export $network "network" (type $net))
  (alias export $network "error-code" (type $ec))
  (alias export $network "ip-address-family" (type $fam))
  (alias export $network "ip-address" (type $ip))
  (alias export $network "ip-socket-address" (type $sa))
  (import "wasi:sockets/instance-network@0.2.12" (instance $inet
    (alias outer 1 $net (type $n0)) (export "network" (type $n (eq $n0)))
    (export "instance-network" (func (result (own $n))))))
  (import "wasi:sockets/tcp@0.2.12" (instance $tcp
    (alias outer 1 $input (type $i0)) (export "input-stream" (type $i (eq $i0)))
    (alias outer 1 $output (type $o0)) (export "output-stream" (type $o (eq $o0)))
    (alias outer 1 $pollable (type $p0)) (export "pollable" (type $p (eq $p0)))
    (alias outer 1 $net (type $n0)) (export "network" (type $n (eq $n0)))
    (alias outer 1 $ec (type $ec0)) (export "error-code" (type $ec (eq $ec0)))
    (alias outer 1 $sa (type $sa0)) (export "ip-socket-address" (type $sa (eq $sa0)))
    (type $st0 (enum "receive" "send" "both"))
    (export "shutdown-type" (type $st (eq $st0)))
    (export "tcp-socket" (type $s (sub resource)))
    (export "[method]tcp-socket.start-bind" (func (param "self" (borrow $s))
      (param "network" (borrow $n)) (param "local-address" $sa) (result (result (error $ec)))))
    (export "[method]tcp-socket.finish-bind" (func (param "self" (borrow $s))
      (result (result (error $ec)))))
    (export "[method]tcp-socket.start-connect" (func (param "self" (borrow $s))
      (param "network" (borrow $n)) (param "remote-address" $sa) (result (result (error $ec)))))
    (export "[method]tcp-socket.finish-connect" (func (param "self" (borrow $s))
      (result (result (tuple (own $i) (own $o)) (error $ec)))))
    (export "[method]tcp-socket.start-listen" (func (param "self" (borrow $s))
      (result (result (error $ec)))))
    (export "[method]tcp-socket.finish-listen" (func (param "self" (borrow $s))
      (result (result (error $ec)))))
    (export "[method]tcp-socket.accept" (func (param "self" (borrow $s))
      (result (result (tuple (own $s) (own $i) (own $o)) (error $ec)))))
    (export "[method]tcp-socket.local-address" (func (param "self" (borrow $s))
      (result (result $sa (error $ec)))))
    (export "[method]tcp-socket.remote-address" (func (param "self" (borrow $s))
      (result (result $sa (error $ec)))))
    (export "[method]tcp-socket.is-listening" (func (param "self" (borrow $s)) (result bool)))
    (export "[method]tcp-socket.set-listen-backlog-size" (func (param "self" (borrow $s))
      (param "value" u64) (result (result (error $ec)))))
    (export "[method]tcp-socket.hop-limit" (func (param "self" (borrow $s))
      (result (result u8 (error $ec)))))
    (export "[method]tcp-socket.set-hop-limit" (func (param "self" (borrow $s))
      (param "value" u8) (result (result (error $ec)))))
    (export "[method]tcp-socket.subscribe" (func (param "self" (borrow $s)) (result (own $p))))
    (export "[method]tcp-socket.shutdown" (func (param "self" (borrow $s))
      (param "shutdown-type" $st) (result (result (error $ec)))))))
  (alias export $tcp "tcp-socket" (type $tcp-socket))
  (import "wasi:sockets/tcp-create-socket@0.2.12" (instance $tcpc
    (alias outer 1 $ec (type $ec0)) (export "error-code" (type $ec (eq $ec0)))
    (alias outer 1 $fam (type $f0)) (export "ip-address-family" (type $f (eq $f0)))
    (alias outer 1 $tcp-socket (type $s0)) (export "tcp-socket" (type $s (eq $s0)))
    (export "create-tcp-socket" (func (param "address-family" $f)
      (result (result (own $s) (error $ec)))))))
  (import "wasi:sockets/udp@0.2.12" (instance $udp
    (alias outer 1 $pollable (type $p0)) (export "pollable" (type $p (eq $p0)))
    (alias outer 1 $net (type $n0)) (export "network" (type $n (eq $n0)))
    (alias outer 1 $ec (type $ec0)) (export "error-code" (type $ec (eq $ec0)))
    (alias outer 1 $sa (type $sa0)) (export "ip-socket-address" (type $sa (eq $sa0)))
    (type $in0 (record (field "data" (list u8)) (field "remote-address" $sa)))
    (export "incoming-datagram" (type $in (eq $in0)))
    (type $out0 (record (field "data" (list u8)) (field "remote-address" (option $sa))))
    (export "outgoing-datagram" (type $out (eq $out0)))
    (export "udp-socket" (type $s (sub resource)))
    (export "incoming-datagram-stream" (type $is (sub resource)))
    (export "outgoing-datagram-stream" (type $os (sub resource)))
    (export "[method]udp-socket.start-bind" (func (param "self" (borrow $s))
      (param "network" (borrow $n)) (param "local-address" $sa) (result (result (error $ec)))))
    (export "[method]udp-socket.finish-bind" (func (param "self" (borrow $s))
      (result (result (error $ec)))))
    (export "[method]udp-socket.stream" (func (param "self" (borrow $s))
      (param "remote-address" (option $sa))
      (result (result (tuple (own $is) (own $os)) (error $ec)))))
    (export "[method]udp-socket.local-address" (func (param "self" (borrow $s))
      (result (result $sa (error $ec)))))
    (export "[method]incoming-datagram-stream.receive" (func (param "self" (borrow $is))
      (param "max-results" u64) (result (result (list $in) (error $ec)))))
    (export "[method]incoming-datagram-stream.subscribe" (func (param "self" (borrow $is))
      (result (own $p))))
    (export "[method]outgoing-datagram-stream.check-send" (func (param "self" (borrow $os))
      (result (result u64 (error $ec)))))
    (export "[method]outgoing-datagram-stream.send" (func (param "self" (borrow $os))
      (param "datagrams" (list $out)) (result (result u64 (error $ec)))))))
  (alias export $udp "udp-socket" (type $udp-socket))
  (alias export $udp "incoming-datagram-stream" (type $incoming))
  (alias export $udp "outgoing-datagram-stream" (type $outgoing))
  (import "wasi:sockets/udp-create-socket@0.2.12" (instance $udpc
    (alias outer 1 $ec (type $ec0)) (export "error-code" (type $ec (eq $ec0)))
    (alias outer 1 $fam (type $f0)) (export "ip-address-family" (type $f (eq $f0)))
    (alias outer 1 $udp-socket (type $s0)) (export "udp-socket" (type $s (eq $s0)))
    (export "create-udp-socket" (func (param "address-family" $f)
      (result (result (own $s) (error $ec)))))))
  (import "wasi:sockets/ip-name-lookup@0.2.12" (instance $lookup
    (alias outer 1 $pollable (type $p0)) (export "pollable" (type $p (eq $p0)))
    (alias outer 1 $net (type $n0)) (export "network" (type $n (eq $n0)))
    (alias outer 1 $ec (type $ec0)) (export "error-code" (type $ec (eq $ec0)))
    (alias outer 1 $ip (type $ip0)) (export "ip-address" (type $ip (eq $ip0)))
    (export "resolve-address-stream" (type $s (sub resource)))
    (export "[method]resolve-address-stream.resolve-next-address"
      (func (param "self" (borrow $s)) (result (result (option $ip) (error $ec)))))
    (export "[method]resolve-address-stream.subscribe"
      (func (param "self" (borrow $s)) (result (own $p))))
    (export "resolve-addresses" (func (param "network" (borrow $n)) (param "name" string)
      (result (result (own $s) (error $ec)))))))
  (alias export $lookup "resolve-address-stream" (type $resolve-stream))
"#;

/// Lowered imports: core name, canonical function, core type.
const LOWERED: &[(&str, &str, &str)] = &[
    (
        "inet",
        "lower (func $inet \"instance-network\")",
        "(result i32)",
    ),
    (
        "tcp_create",
        "lower (func $tcpc \"create-tcp-socket\") (memory $mem)",
        "(param i32 i32)",
    ),
    (
        "tcp_start_bind",
        "lower (func $tcp \"[method]tcp-socket.start-bind\") (memory $mem)",
        P15,
    ),
    (
        "tcp_finish_bind",
        "lower (func $tcp \"[method]tcp-socket.finish-bind\") (memory $mem)",
        "(param i32 i32)",
    ),
    (
        "tcp_start_connect",
        "lower (func $tcp \"[method]tcp-socket.start-connect\") (memory $mem)",
        P15,
    ),
    (
        "tcp_finish_connect",
        "lower (func $tcp \"[method]tcp-socket.finish-connect\") (memory $mem)",
        "(param i32 i32)",
    ),
    (
        "tcp_start_listen",
        "lower (func $tcp \"[method]tcp-socket.start-listen\") (memory $mem)",
        "(param i32 i32)",
    ),
    (
        "tcp_finish_listen",
        "lower (func $tcp \"[method]tcp-socket.finish-listen\") (memory $mem)",
        "(param i32 i32)",
    ),
    (
        "tcp_accept",
        "lower (func $tcp \"[method]tcp-socket.accept\") (memory $mem)",
        "(param i32 i32)",
    ),
    (
        "tcp_local_address",
        "lower (func $tcp \"[method]tcp-socket.local-address\") (memory $mem)",
        "(param i32 i32)",
    ),
    (
        "tcp_remote_address",
        "lower (func $tcp \"[method]tcp-socket.remote-address\") (memory $mem)",
        "(param i32 i32)",
    ),
    (
        "tcp_is_listening",
        "lower (func $tcp \"[method]tcp-socket.is-listening\")",
        "(param i32) (result i32)",
    ),
    (
        "tcp_set_backlog",
        "lower (func $tcp \"[method]tcp-socket.set-listen-backlog-size\") (memory $mem)",
        "(param i32 i64 i32)",
    ),
    (
        "tcp_hop_limit",
        "lower (func $tcp \"[method]tcp-socket.hop-limit\") (memory $mem)",
        "(param i32 i32)",
    ),
    (
        "tcp_set_hop_limit",
        "lower (func $tcp \"[method]tcp-socket.set-hop-limit\") (memory $mem)",
        "(param i32 i32 i32)",
    ),
    (
        "tcp_subscribe",
        "lower (func $tcp \"[method]tcp-socket.subscribe\")",
        "(param i32) (result i32)",
    ),
    (
        "tcp_shutdown",
        "lower (func $tcp \"[method]tcp-socket.shutdown\") (memory $mem)",
        "(param i32 i32 i32)",
    ),
    (
        "block",
        "lower (func $poll \"[method]pollable.block\")",
        "(param i32)",
    ),
    (
        "read",
        "lower (func $streams \"[method]input-stream.blocking-read\") (memory $mem) (realloc $realloc)",
        "(param i32 i64 i32)",
    ),
    (
        "write",
        "lower (func $streams \"[method]output-stream.blocking-write-and-flush\") (memory $mem)",
        "(param i32 i32 i32 i32)",
    ),
    (
        "udp_create",
        "lower (func $udpc \"create-udp-socket\") (memory $mem)",
        "(param i32 i32)",
    ),
    (
        "udp_start_bind",
        "lower (func $udp \"[method]udp-socket.start-bind\") (memory $mem)",
        P15,
    ),
    (
        "udp_finish_bind",
        "lower (func $udp \"[method]udp-socket.finish-bind\") (memory $mem)",
        "(param i32 i32)",
    ),
    (
        "udp_stream",
        "lower (func $udp \"[method]udp-socket.stream\") (memory $mem)",
        P15,
    ),
    (
        "udp_local_address",
        "lower (func $udp \"[method]udp-socket.local-address\") (memory $mem)",
        "(param i32 i32)",
    ),
    (
        "udp_receive",
        "lower (func $udp \"[method]incoming-datagram-stream.receive\") (memory $mem) (realloc $realloc)",
        "(param i32 i64 i32)",
    ),
    (
        "udp_in_subscribe",
        "lower (func $udp \"[method]incoming-datagram-stream.subscribe\")",
        "(param i32) (result i32)",
    ),
    (
        "udp_check_send",
        "lower (func $udp \"[method]outgoing-datagram-stream.check-send\") (memory $mem)",
        "(param i32 i32)",
    ),
    (
        "udp_send",
        "lower (func $udp \"[method]outgoing-datagram-stream.send\") (memory $mem)",
        "(param i32 i32 i32 i32)",
    ),
    (
        "resolve",
        "lower (func $lookup \"resolve-addresses\") (memory $mem)",
        "(param i32 i32 i32 i32)",
    ),
    (
        "resolve_next",
        "lower (func $lookup \"[method]resolve-address-stream.resolve-next-address\") (memory $mem)",
        "(param i32 i32)",
    ),
    (
        "resolve_subscribe",
        "lower (func $lookup \"[method]resolve-address-stream.subscribe\")",
        "(param i32) (result i32)",
    ),
    ("drop_pollable", "resource.drop $pollable", "(param i32)"),
    ("drop_in", "resource.drop $input", "(param i32)"),
    ("drop_out", "resource.drop $output", "(param i32)"),
    ("drop_net", "resource.drop $net", "(param i32)"),
    ("drop_tcp", "resource.drop $tcp-socket", "(param i32)"),
    ("drop_udp", "resource.drop $udp-socket", "(param i32)"),
    ("drop_incoming", "resource.drop $incoming", "(param i32)"),
    ("drop_outgoing", "resource.drop $outgoing", "(param i32)"),
    (
        "drop_resolve",
        "resource.drop $resolve-stream",
        "(param i32)",
    ),
];

/// A method taking an `ip-socket-address`: self, network, 12 flat
/// address values, return pointer.
const P15: &str = "(param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)";

/// The wrappers the test calls (core functions, WAT).
const WRAPPERS: &str = r#"
    (data (i32.const 1024) "hello from guest")
    (data (i32.const 0x300) "localhost")
    (data (i32.const 0x320) "in valid")
    (data (i32.const 0x340) "192.0.2.7")
    ;; Whether the last result was an error, and its code as -1 - code
    ;; (the code sits after the discriminant at the payload's alignment).
    (func $failed (result i32) (i32.load8_u (i32.const 256)))
    (func $err1 (result i32) (i32.sub (i32.const -1) (i32.load8_u (i32.const 257))))
    (func $err2 (result i32) (i32.sub (i32.const -1) (i32.load8_u (i32.const 258))))
    (func $err4 (result i32) (i32.sub (i32.const -1) (i32.load8_u (i32.const 260))))
    (func $err8 (result i32) (i32.sub (i32.const -1) (i32.load8_u (i32.const 264))))
    (func $unit (result i32) (if (result i32) (call $failed) (then (call $err1)) (else (i32.const 0))))
    (func $handle (result i32)
      (if (result i32) (call $failed) (then (call $err4)) (else (i32.load (i32.const 260)))))
    (func $wait (param $p i32)
      (call $block (local.get $p))
      (call $drop_pollable (local.get $p)))

    (func (export "peek8") (param i32) (result i32) (i32.load8_u (local.get 0)))
    (func (export "peek16") (param i32) (result i32) (i32.load16_u (local.get 0)))
    (func (export "peek32") (param i32) (result i32) (i32.load (local.get 0)))
    (func (export "net") (result i32) (call $inet))

    (func (export "tcp-create") (param $af i32) (result i32)
      (call $tcp_create (local.get $af) (i32.const 256))
      (call $handle))
    (func (export "tcp-bind") (param $s i32) (param $n i32) (param $a i32) (param $b i32)
        (param $c i32) (param $d i32) (param $port i32) (result i32)
      (call $tcp_start_bind (local.get $s) (local.get $n)
        (i32.const 0) (local.get $port) (local.get $a) (local.get $b) (local.get $c) (local.get $d)
        (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
        (i32.const 256))
      (if (call $failed) (then (return (call $err1))))
      (call $tcp_finish_bind (local.get $s) (i32.const 256))
      (call $unit))
    (func (export "tcp-finish-bind") (param $s i32) (result i32)
      (call $tcp_finish_bind (local.get $s) (i32.const 256))
      (call $unit))
    ;; Connects, waiting on the socket's pollable while it would block;
    ;; the streams are at RET+4 and RET+8.
    (func (export "tcp-connect") (param $s i32) (param $n i32) (param $a i32) (param $b i32)
        (param $c i32) (param $d i32) (param $port i32) (result i32)
      (call $tcp_start_connect (local.get $s) (local.get $n)
        (i32.const 0) (local.get $port) (local.get $a) (local.get $b) (local.get $c) (local.get $d)
        (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
        (i32.const 256))
      (if (call $failed) (then (return (call $err1))))
      (loop $again
        (call $tcp_finish_connect (local.get $s) (i32.const 256))
        (if (call $failed) (then
          (if (i32.eq (i32.load8_u (i32.const 260)) (i32.const 8)) (then
            (call $wait (call $tcp_subscribe (local.get $s)))
            (br $again)))
          (return (call $err4)))))
      (i32.const 0))
    (func (export "tcp-finish-connect") (param $s i32) (result i32)
      (call $tcp_finish_connect (local.get $s) (i32.const 256))
      (if (result i32) (call $failed) (then (call $err4)) (else (i32.const 0))))
    (func (export "tcp-listen") (param $s i32) (result i32)
      (call $tcp_start_listen (local.get $s) (i32.const 256))
      (if (call $failed) (then (return (call $err1))))
      (call $tcp_finish_listen (local.get $s) (i32.const 256))
      (call $unit))
    ;; Accepts (waiting for a connection if $wait); the socket and its
    ;; streams are at RET+4, RET+8 and RET+12.
    (func (export "tcp-accept") (param $s i32) (param $wait i32) (result i32)
      (loop $again
        (call $tcp_accept (local.get $s) (i32.const 256))
        (if (call $failed) (then
          (if (i32.and (local.get $wait) (i32.eq (i32.load8_u (i32.const 260)) (i32.const 8)))
            (then
              (call $wait (call $tcp_subscribe (local.get $s)))
              (br $again)))
          (return (call $err4)))))
      (i32.const 0))
    (func (export "tcp-local-port") (param $s i32) (result i32)
      (call $tcp_local_address (local.get $s) (i32.const 256))
      (if (call $failed) (then (return (call $err4))))
      (i32.load16_u (i32.const 264)))
    (func (export "tcp-remote-port") (param $s i32) (result i32)
      (call $tcp_remote_address (local.get $s) (i32.const 256))
      (if (call $failed) (then (return (call $err4))))
      (i32.load16_u (i32.const 264)))
    (func (export "tcp-is-listening") (param $s i32) (result i32)
      (call $tcp_is_listening (local.get $s)))
    (func (export "tcp-backlog") (param $s i32) (param $n i64) (result i32)
      (call $tcp_set_backlog (local.get $s) (local.get $n) (i32.const 256))
      (call $unit))
    (func (export "tcp-hop-limit") (param $s i32) (result i32)
      (call $tcp_hop_limit (local.get $s) (i32.const 256))
      (if (result i32) (call $failed) (then (call $err1)) (else (i32.load8_u (i32.const 257)))))
    (func (export "tcp-set-hop-limit") (param $s i32) (param $v i32) (result i32)
      (call $tcp_set_hop_limit (local.get $s) (local.get $v) (i32.const 256))
      (call $unit))
    (func (export "tcp-shutdown") (param $s i32) (param $how i32) (result i32)
      (call $tcp_shutdown (local.get $s) (local.get $how) (i32.const 256))
      (call $unit))

    ;; Writes the first $len bytes of "hello from guest"; 0, or -1 - the
    ;; stream-error case.
    (func (export "write") (param $o i32) (param $len i32) (result i32)
      (call $write (local.get $o) (i32.const 1024) (local.get $len) (i32.const 256))
      (if (result i32) (call $failed)
        (then (i32.sub (i32.const -1) (i32.load8_u (i32.const 260))))
        (else (i32.const 0))))
    ;; Reads up to $max bytes: their count (the bytes are at the pointer at
    ;; RET+4), or -1 - the stream-error case.
    (func (export "read") (param $i i32) (param $max i32) (result i32)
      (call $read (local.get $i) (i64.extend_i32_u (local.get $max)) (i32.const 256))
      (if (result i32) (call $failed)
        (then (i32.sub (i32.const -1) (i32.load8_u (i32.const 260))))
        (else (i32.load (i32.const 264)))))

    (func (export "udp-create") (param $af i32) (result i32)
      (call $udp_create (local.get $af) (i32.const 256))
      (call $handle))
    (func (export "udp-bind") (param $s i32) (param $n i32) (param $a i32) (param $b i32)
        (param $c i32) (param $d i32) (param $port i32) (result i32)
      (call $udp_start_bind (local.get $s) (local.get $n)
        (i32.const 0) (local.get $port) (local.get $a) (local.get $b) (local.get $c) (local.get $d)
        (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
        (i32.const 256))
      (if (call $failed) (then (return (call $err1))))
      (call $udp_finish_bind (local.get $s) (i32.const 256))
      (call $unit))
    (func (export "udp-local-port") (param $s i32) (result i32)
      (call $udp_local_address (local.get $s) (i32.const 256))
      (if (call $failed) (then (return (call $err4))))
      (i32.load16_u (i32.const 264)))
    ;; The streams (to the address if $some) are at RET+4 and RET+8.
    (func (export "udp-stream") (param $s i32) (param $some i32) (param $a i32) (param $b i32)
        (param $c i32) (param $d i32) (param $port i32) (result i32)
      (call $udp_stream (local.get $s) (local.get $some)
        (i32.const 0) (local.get $port) (local.get $a) (local.get $b) (local.get $c) (local.get $d)
        (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
        (i32.const 256))
      (if (result i32) (call $failed) (then (call $err4)) (else (i32.const 0))))
    ;; Sends "hello from guest" (its first $len bytes) once, to the address
    ;; if $to: the count sent, or -1 - code; -100 if check-send permits none.
    (func (export "udp-send") (param $o i32) (param $to i32) (param $a i32) (param $b i32)
        (param $c i32) (param $d i32) (param $port i32) (param $len i32) (result i32)
      (call $udp_check_send (local.get $o) (i32.const 256))
      (if (call $failed) (then (return (call $err8))))
      (if (i64.eqz (i64.load (i32.const 264))) (then (return (i32.const -100))))
      (i32.store (i32.const 512) (i32.const 1024))
      (i32.store (i32.const 516) (local.get $len))
      (i32.store8 (i32.const 520) (local.get $to))
      (i32.store8 (i32.const 524) (i32.const 0))
      (i32.store16 (i32.const 528) (local.get $port))
      (i32.store8 (i32.const 530) (local.get $a))
      (i32.store8 (i32.const 531) (local.get $b))
      (i32.store8 (i32.const 532) (local.get $c))
      (i32.store8 (i32.const 533) (local.get $d))
      (call $udp_send (local.get $o) (i32.const 512) (i32.const 1) (i32.const 256))
      (if (result i32) (call $failed)
        (then (call $err8))
        (else (i32.wrap_i64 (i64.load (i32.const 264))))))
    ;; Sends the datagram at 512 again without asking check-send first.
    (func (export "udp-send-unpermitted") (param $o i32) (result i32)
      (call $udp_send (local.get $o) (i32.const 512) (i32.const 1) (i32.const 256))
      (i32.const 0))
    (func (export "udp-wait") (param $i i32)
      (call $wait (call $udp_in_subscribe (local.get $i))))
    ;; Receives: the count (the list is at the pointer at RET+4, 40 bytes
    ;; a datagram), or -1 - code.
    (func (export "udp-receive") (param $i i32) (param $max i64) (result i32)
      (call $udp_receive (local.get $i) (local.get $max) (i32.const 256))
      (if (result i32) (call $failed) (then (call $err4)) (else (i32.load (i32.const 264)))))

    (func (export "lookup") (param $n i32) (param $name i32) (param $len i32) (result i32)
      (call $resolve (local.get $n) (local.get $name) (local.get $len) (i32.const 256))
      (call $handle))
    ;; The next address, waiting for it: 0 at the end, 1 + the ip-address
    ;; case (its value at RET+6), or -1 - code.
    (func (export "lookup-next") (param $s i32) (result i32)
      (loop $again
        (call $resolve_next (local.get $s) (i32.const 256))
        (if (call $failed) (then
          (if (i32.eq (i32.load8_u (i32.const 258)) (i32.const 8)) (then
            (call $wait (call $resolve_subscribe (local.get $s)))
            (br $again)))
          (return (call $err2)))))
      (if (result i32) (i32.load8_u (i32.const 258))
        (then (i32.add (i32.load8_u (i32.const 260)) (i32.const 1)))
        (else (i32.const 0))))

    ;; Creates TCP sockets until that fails: how many it made.
    (func (export "exhaust") (result i32) (local $n i32)
      (block $done (loop $more
        (call $tcp_create (i32.const 0) (i32.const 256))
        (br_if $done (call $failed))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $more)))
      (local.get $n))
"#;

/// Exports: name, parameter types (the result is an `s32` unless the
/// name is in `NO_RESULT`).
const EXPORTS: &[(&str, &[&str])] = &[
    ("peek8", &["u32"]),
    ("peek16", &["u32"]),
    ("peek32", &["u32"]),
    ("net", &[]),
    ("tcp-create", &["u32"]),
    ("tcp-bind", &["u32"; 7]),
    ("tcp-finish-bind", &["u32"]),
    ("tcp-connect", &["u32"; 7]),
    ("tcp-finish-connect", &["u32"]),
    ("tcp-listen", &["u32"]),
    ("tcp-accept", &["u32", "u32"]),
    ("tcp-local-port", &["u32"]),
    ("tcp-remote-port", &["u32"]),
    ("tcp-is-listening", &["u32"]),
    ("tcp-backlog", &["u32", "u64"]),
    ("tcp-hop-limit", &["u32"]),
    ("tcp-set-hop-limit", &["u32", "u32"]),
    ("tcp-shutdown", &["u32", "u32"]),
    ("write", &["u32", "u32"]),
    ("read", &["u32", "u32"]),
    ("udp-create", &["u32"]),
    ("udp-bind", &["u32"; 7]),
    ("udp-local-port", &["u32"]),
    ("udp-stream", &["u32"; 7]),
    ("udp-send", &["u32"; 8]),
    ("udp-send-unpermitted", &["u32"]),
    ("udp-wait", &["u32"]),
    ("udp-receive", &["u32", "u64"]),
    ("lookup", &["u32", "u32", "u32"]),
    ("lookup-next", &["u32"]),
    ("exhaust", &[]),
    ("drop-pollable", &["u32"]),
    ("drop-in", &["u32"]),
    ("drop-out", &["u32"]),
    ("drop-net", &["u32"]),
    ("drop-tcp", &["u32"]),
    ("drop-udp", &["u32"]),
    ("drop-incoming", &["u32"]),
    ("drop-outgoing", &["u32"]),
    ("drop-resolve", &["u32"]),
];

fn no_result(name: &str) -> bool {
    name.starts_with("drop-") || name == "udp-wait"
}

/// The whole component.
fn guest_wat() -> String {
    let mut lowered = String::new();
    let mut imports = String::new();
    let mut with = String::new();
    for (name, canon, ty) in LOWERED {
        lowered.push_str(&format!("  (core func ${name} (canon {canon}))\n"));
        imports.push_str(&format!(
            "    (import \"\" \"{name}\" (func ${name} {ty}))\n"
        ));
        with.push_str(&format!("    (export \"{name}\" (func ${name}))\n"));
    }
    let mut drops = String::new();
    for (name, _) in EXPORTS.iter().filter(|(n, _)| n.starts_with("drop-")) {
        let core = name.replace('-', "_");
        drops.push_str(&format!(
            "    (func (export \"{name}\") (param i32) (call ${core} (local.get 0)))\n"
        ));
    }
    let mut lifted = String::new();
    for (name, params) in EXPORTS {
        let params: String = params
            .iter()
            .enumerate()
            .map(|(i, t)| format!(" (param \"p{i}\" {t})"))
            .collect();
        let result = if no_result(name) { "" } else { " (result s32)" };
        lifted.push_str(&format!(
            "  (func (export \"{name}\"){params}{result} (canon lift (core func $i \"{name}\")))\n"
        ));
    }
    format!(
        r#"(component
{IMPORTS}
  (core module $libc (memory (export "memory") 1))
  (core instance $libc (instantiate $libc))
  (alias core export $libc "memory" (core memory $mem))
  (core module $realloc-m
    (import "" "memory" (memory 1))
    (global $heap (mut i32) (i32.const 0x10000))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
      (global.set $heap (i32.add (local.get $p) (local.get 3)))
      (block $ok (loop $grow
        (br_if $ok (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
        (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then unreachable))
        (br $grow)))
      (local.get $p)))
  (core instance $realloc-i (instantiate $realloc-m (with "" (instance (export "memory" (memory $mem))))))
  (alias core export $realloc-i "realloc" (core func $realloc))
{lowered}
  (core module $m
    (import "" "memory" (memory 1))
{imports}
{WRAPPERS}
{drops}  )
  (core instance $i (instantiate $m (with "" (instance
    (export "memory" (memory $mem))
{with}  ))))
{lifted})"#
    )
}

/// An instance of the guest with the context `configure` builds.
struct Guest {
    store: Store<WasiCtx>,
    instance: Instance,
}

impl Guest {
    fn new(configure: impl FnOnce(&mut WasiCtxBuilder)) -> Guest {
        let engine = Engine::default();
        let component = Component::new(&engine, guest_wat()).unwrap();
        let mut linker = Linker::new(&engine);
        hayate_wasi::p2::add_to_linker(&mut linker, |c: &mut WasiCtx| c).unwrap();
        let mut b = WasiCtx::builder();
        configure(&mut b);
        let mut store = Store::new(&engine, b.build());
        let instance = linker.instantiate(&mut store, &component).unwrap();
        Guest { store, instance }
    }

    /// With network access.
    fn networked() -> Guest {
        Guest::new(|b| {
            b.inherit_network(true);
        })
    }

    fn try_call(&mut self, name: &str, args: &[Val]) -> Result<Option<Val>, String> {
        let f = self.instance.get_func(&mut self.store, name).unwrap();
        let mut out = vec![Val::Bool(false); usize::from(f.ty().unwrap().result.is_some())];
        f.call(&mut self.store, args, &mut out)
            .map(|()| out.pop())
            .map_err(|e| format!("{e:#}"))
    }

    /// Calls `name` with `u32` arguments; its `s32` result (0 if none).
    fn call(&mut self, name: &str, args: &[u32]) -> i32 {
        let args: Vec<Val> = args.iter().map(|a| Val::U32(*a)).collect();
        self.call_vals(name, &args)
    }

    fn call_vals(&mut self, name: &str, args: &[Val]) -> i32 {
        match self.try_call(name, args) {
            Ok(Some(Val::S32(r))) => r,
            Ok(None) => 0,
            other => panic!("`{name}`: {other:?}"),
        }
    }

    fn peek8(&mut self, at: u32) -> u8 {
        self.call("peek8", &[at]) as u8
    }

    fn peek16(&mut self, at: u32) -> u16 {
        self.call("peek16", &[at]) as u16
    }

    fn peek32(&mut self, at: u32) -> u32 {
        self.call("peek32", &[at]) as u32
    }

    fn bytes(&mut self, at: u32, len: u32) -> Vec<u8> {
        (at..at + len).map(|a| self.peek8(a)).collect()
    }

    /// A new IPv4 TCP socket (a handle).
    fn tcp(&mut self) -> u32 {
        let s = self.call("tcp-create", &[0]);
        assert!(s >= 0, "create-tcp-socket: {s}");
        s as u32
    }

    fn udp(&mut self) -> u32 {
        let s = self.call("udp-create", &[0]);
        assert!(s >= 0, "create-udp-socket: {s}");
        s as u32
    }

    /// `op` on socket `s` with network `net` and 127.0.0.1:`port`.
    fn at_loopback(&mut self, op: &str, s: u32, net: u32, port: u16) -> i32 {
        self.call(op, &[s, net, 127, 0, 0, 1, u32::from(port)])
    }

    /// Reads from input stream `input` until `len` bytes came (or it
    /// ends or fails: then what came, and the failure).
    fn read_exact(&mut self, input: u32, len: usize) -> (Vec<u8>, Option<i32>) {
        let mut got = Vec::new();
        while got.len() < len {
            let n = self.call("read", &[input, (len - got.len()) as u32]);
            if n < 0 {
                return (got, Some(n));
            }
            let at = self.peek32(RET + 4);
            got.extend(self.bytes(at, n as u32));
        }
        (got, None)
    }
}

/// `read`'s result for a `closed` stream.
const CLOSED: i32 = -2;

#[test]
fn tcp_connect_exchanges_bytes_with_a_host_listener() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut g = Guest::networked();
    let net = g.call("net", &[]) as u32;
    let s = g.tcp();
    assert_eq!(g.call("tcp-remote-port", &[s]), fail("invalid-state"));
    assert_eq!(g.call("tcp-finish-connect", &[s]), fail("not-in-progress"));
    assert_eq!(g.at_loopback("tcp-connect", s, net, port), 0);
    let (input, output) = (g.peek32(RET + 4), g.peek32(RET + 8));
    let (mut host, peer) = listener.accept().unwrap();
    host.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(g.call("tcp-local-port", &[s]), i32::from(peer.port()));
    assert_eq!(g.call("tcp-remote-port", &[s]), i32::from(port));
    // A connected socket cannot connect, bind or listen again.
    assert_eq!(
        g.at_loopback("tcp-connect", s, net, port),
        fail("invalid-state")
    );
    assert_eq!(g.at_loopback("tcp-bind", s, net, 0), fail("invalid-state"));
    assert_eq!(g.call("tcp-listen", &[s]), fail("invalid-state"));

    // Guest to host.
    assert_eq!(g.call("write", &[output, GREETING.len() as u32]), 0);
    let mut buf = [0; 16];
    host.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, GREETING);

    // Host to guest.
    host.write_all(b"hello from host").unwrap();
    let (got, failed) = g.read_exact(input, 15);
    assert_eq!((got.as_slice(), failed), (&b"hello from host"[..], None));

    // The host closes: the guest's input ends.
    drop(host);
    assert_eq!(g.call("read", &[input, 100]), CLOSED);
    g.call("drop-in", &[input]);
    g.call("drop-out", &[output]);
    g.call("drop-tcp", &[s]);
    g.call("drop-net", &[net]);
}

#[test]
fn tcp_listen_accepts_a_host_client() {
    let mut g = Guest::networked();
    let net = g.call("net", &[]) as u32;
    let s = g.tcp();
    assert_eq!(g.call("tcp-listen", &[s]), fail("invalid-state"), "unbound");
    assert_eq!(g.call("tcp-local-port", &[s]), fail("invalid-state"));
    assert_eq!(g.call("tcp-finish-bind", &[s]), fail("not-in-progress"));
    assert_eq!(g.at_loopback("tcp-bind", s, net, 0), 0);
    assert_eq!(g.at_loopback("tcp-bind", s, net, 0), fail("invalid-state"));
    let backlog = |g: &mut Guest, n: u64| g.call_vals("tcp-backlog", &[Val::U32(s), Val::U64(n)]);
    assert_eq!(backlog(&mut g, 0), fail("invalid-argument"));
    assert_eq!(backlog(&mut g, u64::MAX), 0, "clamped, not refused");
    assert_eq!(g.call("tcp-is-listening", &[s]), 0);
    assert_eq!(g.call("tcp-listen", &[s]), 0);
    assert_eq!(g.call("tcp-is-listening", &[s]), 1);
    let port = g.call("tcp-local-port", &[s]);
    assert!(port > 0, "{port}");
    // Nobody is connecting yet.
    assert_eq!(g.call("tcp-accept", &[s, 0]), fail("would-block"));

    let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, port as u16)).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    client.write_all(b"ping").unwrap();
    assert_eq!(g.call("tcp-accept", &[s, 1]), 0);
    let (conn, input, output) = (g.peek32(RET + 4), g.peek32(RET + 8), g.peek32(RET + 12));
    let client_port = client.local_addr().unwrap().port();
    assert_eq!(g.call("tcp-remote-port", &[conn]), i32::from(client_port));
    assert_eq!(g.call("tcp-local-port", &[conn]), port);
    let (got, _) = g.read_exact(input, 4);
    assert_eq!(got, b"ping");
    assert_eq!(g.call("write", &[output, 5]), 0);
    let mut buf = [0; 5];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello");

    // Options of the accepted socket.
    assert!(g.call("tcp-hop-limit", &[conn]) > 0);
    assert_eq!(
        g.call("tcp-set-hop-limit", &[conn, 0]),
        fail("invalid-argument")
    );
    assert_eq!(g.call("tcp-set-hop-limit", &[conn, 42]), 0);
    assert_eq!(g.call("tcp-hop-limit", &[conn]), 42);

    // Shutting down sending ends the host's reads.
    assert_eq!(g.call("tcp-shutdown", &[conn, 1]), 0);
    assert_eq!(g.call("tcp-shutdown", &[conn, 1]), 0, "idempotent");
    assert_eq!(client.read(&mut buf).unwrap(), 0);
    // (`wasi:io` reports a write to a closed host stream as a failure.)
    let w = g.call("write", &[output, 1]);
    assert!(w == CLOSED || w == -1, "{w}");
    assert_eq!(g.call("tcp-shutdown", &[s, 2]), fail("invalid-state"));

    g.call("drop-in", &[input]);
    g.call("drop-out", &[output]);
    g.call("drop-tcp", &[conn]);

    // The streams must go before their socket (a trap: the instance is
    // done for).
    let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, port as u16)).unwrap();
    client.write_all(b"x").unwrap();
    assert_eq!(g.call("tcp-accept", &[s, 1]), 0);
    let conn = g.peek32(RET + 4);
    let e = g.try_call("drop-tcp", &[Val::U32(conn)]).unwrap_err();
    assert!(e.contains("children"), "{e}");
}

#[test]
fn udp_datagrams_both_ways() {
    let host = UdpSocket::bind("127.0.0.1:0").unwrap();
    host.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let host_port = host.local_addr().unwrap().port();
    let mut g = Guest::networked();
    let net = g.call("net", &[]) as u32;
    let u = g.udp();
    // Streams need a bound socket.
    assert_eq!(
        g.call("udp-stream", &[u, 0, 0, 0, 0, 0, 0]),
        fail("invalid-state")
    );
    assert_eq!(g.at_loopback("udp-bind", u, net, 0), 0);
    let port = g.call("udp-local-port", &[u]);
    assert!(port > 0);
    assert_eq!(g.call("udp-stream", &[u, 0, 0, 0, 0, 0, 0]), 0);
    let (incoming, outgoing) = (g.peek32(RET + 4), g.peek32(RET + 8));

    // Guest to host.
    let to_host = |g: &mut Guest, len: u32| {
        g.call(
            "udp-send",
            &[outgoing, 1, 127, 0, 0, 1, u32::from(host_port), len],
        )
    };
    assert_eq!(to_host(&mut g, 16), 1);
    let mut buf = [0; 64];
    let (n, from) = host.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], GREETING);
    assert_eq!(i32::from(from.port()), port);
    // No destination on an unconnected stream.
    assert_eq!(
        g.call("udp-send", &[outgoing, 0, 0, 0, 0, 0, 0, 4]),
        fail("invalid-argument")
    );

    // Host to guest.
    host.send_to(b"hello from host", ("127.0.0.1", port as u16))
        .unwrap();
    g.call("udp-wait", &[incoming]);
    let receive =
        |g: &mut Guest, max: u64| g.call_vals("udp-receive", &[Val::U32(incoming), Val::U64(max)]);
    assert_eq!(receive(&mut g, 0), 0, "max-results 0 receives nothing");
    assert_eq!(receive(&mut g, 10), 1);
    let d = g.peek32(RET + 4);
    let (data, len) = (g.peek32(d), g.peek32(d + 4));
    assert_eq!(g.bytes(data, len), b"hello from host");
    assert_eq!(g.peek8(d + 8), 0, "ipv4");
    assert_eq!(g.peek16(d + 12), host_port);
    assert_eq!(g.bytes(d + 14, 4), [127, 0, 0, 1]);
    assert_eq!(receive(&mut g, 10), 0, "nothing more");

    // A guest asking for more datagrams than the cap gets the cap.
    for _ in 0..70 {
        host.send_to(b"x", ("127.0.0.1", port as u16)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(receive(&mut g, u64::MAX), 64);
    assert_eq!(receive(&mut g, u64::MAX), 6);

    // Connected to the host: sends need no address, and only its
    // datagrams arrive.
    g.call("drop-incoming", &[incoming]);
    g.call("drop-outgoing", &[outgoing]);
    assert_eq!(
        g.call("udp-stream", &[u, 1, 127, 0, 0, 1, u32::from(host_port)]),
        0
    );
    let (incoming, outgoing) = (g.peek32(RET + 4), g.peek32(RET + 8));
    assert_eq!(g.call("udp-send", &[outgoing, 0, 0, 0, 0, 0, 0, 5]), 1);
    let (n, _) = host.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello");
    let other = UdpSocket::bind("127.0.0.1:0").unwrap();
    other
        .send_to(b"stranger", ("127.0.0.1", port as u16))
        .unwrap();
    host.send_to(b"friend", ("127.0.0.1", port as u16)).unwrap();
    g.call("udp-wait", &[incoming]);
    let receive =
        |g: &mut Guest, max: u64| g.call_vals("udp-receive", &[Val::U32(incoming), Val::U64(max)]);
    assert_eq!(receive(&mut g, 10), 1);
    let d = g.peek32(RET + 4);
    let (data, len) = (g.peek32(d), g.peek32(d + 4));
    assert_eq!(g.bytes(data, len), b"friend");
    // To another address than the connected one: refused.
    assert_eq!(
        g.call("udp-send", &[outgoing, 1, 127, 0, 0, 1, 9, 4]),
        fail("invalid-argument")
    );
}

#[test]
fn udp_stream_misuse_traps() {
    let mut g = Guest::networked();
    let net = g.call("net", &[]) as u32;
    let u = g.udp();
    assert_eq!(g.at_loopback("udp-bind", u, net, 0), 0);
    assert_eq!(g.call("udp-stream", &[u, 0, 0, 0, 0, 0, 0]), 0);
    // A second pair of streams while the first lives.
    let args = [u, 0, 0, 0, 0, 0, 0].map(Val::U32);
    let e = g.try_call("udp-stream", &args).unwrap_err();
    assert!(e.contains("dropped"), "{e}");

    // Sending more datagrams than check-send permitted.
    let mut g = Guest::networked();
    let net = g.call("net", &[]) as u32;
    let u = g.udp();
    assert_eq!(g.at_loopback("udp-bind", u, net, 0), 0);
    assert_eq!(g.call("udp-stream", &[u, 0, 0, 0, 0, 0, 0]), 0);
    let outgoing = g.peek32(RET + 8);
    let e = g
        .try_call("udp-send-unpermitted", &[Val::U32(outgoing)])
        .unwrap_err();
    assert!(e.contains("permitted"), "{e}");
}

#[test]
fn ip_name_lookup_of_localhost_when_allowed() {
    let mut g = Guest::new(|b| {
        b.allow_ip_name_lookup(true);
    });
    let net = g.call("net", &[]) as u32;
    let s = g.call("lookup", &[net, LOCALHOST.0, LOCALHOST.1]);
    assert!(s >= 0, "{s}");
    let mut addrs = Vec::new();
    loop {
        match g.call("lookup-next", &[s as u32]) {
            0 => break,
            1 => addrs.push(std::net::IpAddr::from(
                <[u8; 4]>::try_from(g.bytes(RET + 6, 4)).unwrap(),
            )),
            2 => {
                let segs: Vec<u16> = (0..8).map(|i| g.peek16(RET + 6 + 2 * i)).collect();
                addrs.push(std::net::IpAddr::from(<[u16; 8]>::try_from(segs).unwrap()));
            }
            e => panic!("resolve-next-address: {e}"),
        }
    }
    assert!(!addrs.is_empty());
    assert!(addrs.iter().all(|a| a.is_loopback()), "{addrs:?}");
    g.call("drop-resolve", &[s as u32]);

    // An address is returned as it is; a malformed name is refused.
    let s = g.call("lookup", &[net, LITERAL.0, LITERAL.1]) as u32;
    assert_eq!(g.call("lookup-next", &[s]), 1);
    assert_eq!(g.bytes(RET + 6, 4), [192, 0, 2, 7]);
    assert_eq!(g.call("lookup-next", &[s]), 0);
    assert_eq!(
        g.call("lookup", &[net, BAD_NAME.0, BAD_NAME.1]),
        fail("invalid-argument")
    );
}

#[test]
fn without_network_access_everything_is_denied() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut g = Guest::new(|_| {});
    let net = g.call("net", &[]) as u32;
    // Sockets may be made (they are inert), but not bound or connected.
    let s = g.tcp();
    assert_eq!(
        g.at_loopback("tcp-connect", s, net, port),
        fail("access-denied")
    );
    assert_eq!(g.at_loopback("tcp-bind", s, net, 0), fail("access-denied"));
    assert_eq!(g.call("tcp-listen", &[s]), fail("invalid-state"));
    let u = g.udp();
    assert_eq!(g.at_loopback("udp-bind", u, net, 0), fail("access-denied"));
    assert_eq!(
        g.call("lookup", &[net, LOCALHOST.0, LOCALHOST.1]),
        fail("permanent-resolver-failure")
    );
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "nothing connected");

    // TCP or UDP may be turned off on their own.
    let mut g = Guest::new(|b| {
        b.inherit_network(true).allow_tcp(false);
    });
    assert_eq!(g.call("tcp-create", &[0]), fail("access-denied"));
    assert!(g.call("udp-create", &[0]) >= 0);
    let mut g = Guest::new(|b| {
        b.inherit_network(true).allow_udp(false);
    });
    assert_eq!(g.call("udp-create", &[0]), fail("access-denied"));
    assert!(g.call("tcp-create", &[0]) >= 0);
}

#[test]
fn the_address_check_is_honoured() {
    let open = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let (open_port, closed_port) = (
        open.local_addr().unwrap().port(),
        closed.local_addr().unwrap().port(),
    );
    let mut g = Guest::new(|b| {
        b.inherit_network(true)
            .socket_addr_check(move |addr, usage| {
                let refused = match usage {
                    SocketAddrUse::TcpConnect => addr.port() == closed_port,
                    SocketAddrUse::TcpBind => addr.port() == 1,
                    _ => false,
                };
                !refused
            });
    });
    let net = g.call("net", &[]) as u32;
    let s = g.tcp();
    assert_eq!(
        g.at_loopback("tcp-connect", s, net, closed_port),
        fail("access-denied")
    );
    // A refused attempt leaves the socket usable.
    assert_eq!(g.at_loopback("tcp-connect", s, net, open_port), 0);
    let s = g.tcp();
    assert_eq!(g.at_loopback("tcp-bind", s, net, 1), fail("access-denied"));

    // The check cannot widen: without network access it is not asked.
    let mut g = Guest::new(|b| {
        b.socket_addr_check(|_, _| true);
    });
    let net = g.call("net", &[]) as u32;
    let s = g.tcp();
    assert_eq!(
        g.at_loopback("tcp-connect", s, net, open_port),
        fail("access-denied")
    );
}

#[test]
fn a_guest_creating_sockets_without_end_meets_the_limit() {
    let mut g = Guest::networked();
    let first = g.tcp();
    let made = g.call("exhaust", &[]);
    let code = g.peek8(RET + 4);
    assert_eq!(i32::from(code), -1 - fail("new-socket-limit"));
    assert!((100..1024).contains(&made), "{made} more sockets");
    // UDP sockets count too; closing one makes room for one.
    assert_eq!(g.call("udp-create", &[0]), fail("new-socket-limit"));
    g.call("drop-tcp", &[first]);
    assert!(g.call("udp-create", &[0]) >= 0);
    assert_eq!(g.call("tcp-create", &[0]), fail("new-socket-limit"));
}
