//! WASI error numbers (`errno` in `wasi_snapshot_preview1.witx`) and their
//! conversion from host I/O errors.

use std::fmt;
use std::io;

macro_rules! errnos {
    ($($name:ident = $value:literal, $text:literal;)*) => {
        /// A WASI error number, with exactly the values of the witx
        /// specification.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u16)]
        #[allow(missing_docs)]
        pub enum Errno {
            $($name = $value,)*
        }

        impl Errno {
            /// A short description, as `strerror` would give.
            pub fn message(self) -> &'static str {
                match self {
                    $(Errno::$name => $text,)*
                }
            }

            /// The error with this number, if the number is one.
            pub fn from_raw(raw: u16) -> Option<Errno> {
                match raw {
                    $($value => Some(Errno::$name),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    Success = 0, "no error";
    TooBig = 1, "argument list too long";
    Acces = 2, "permission denied";
    Addrinuse = 3, "address in use";
    Addrnotavail = 4, "address not available";
    Afnosupport = 5, "address family not supported";
    Again = 6, "resource unavailable, or operation would block";
    Already = 7, "connection already in progress";
    Badf = 8, "bad file descriptor";
    Badmsg = 9, "bad message";
    Busy = 10, "device or resource busy";
    Canceled = 11, "operation canceled";
    Child = 12, "no child processes";
    Connaborted = 13, "connection aborted";
    Connrefused = 14, "connection refused";
    Connreset = 15, "connection reset";
    Deadlk = 16, "resource deadlock would occur";
    Destaddrreq = 17, "destination address required";
    Dom = 18, "mathematics argument out of domain of function";
    Dquot = 19, "reserved";
    Exist = 20, "file exists";
    Fault = 21, "bad address";
    Fbig = 22, "file too large";
    Hostunreach = 23, "host is unreachable";
    Idrm = 24, "identifier removed";
    Ilseq = 25, "illegal byte sequence";
    Inprogress = 26, "operation in progress";
    Intr = 27, "interrupted function";
    Inval = 28, "invalid argument";
    Io = 29, "I/O error";
    Isconn = 30, "socket is connected";
    Isdir = 31, "is a directory";
    Loop = 32, "too many levels of symbolic links";
    Mfile = 33, "file descriptor value too large";
    Mlink = 34, "too many links";
    Msgsize = 35, "message too large";
    Multihop = 36, "reserved";
    Nametoolong = 37, "filename too long";
    Netdown = 38, "network is down";
    Netreset = 39, "connection aborted by network";
    Netunreach = 40, "network unreachable";
    Nfile = 41, "too many files open in system";
    Nobufs = 42, "no buffer space available";
    Nodev = 43, "no such device";
    Noent = 44, "no such file or directory";
    Noexec = 45, "executable file format error";
    Nolck = 46, "no locks available";
    Nolink = 47, "reserved";
    Nomem = 48, "not enough space";
    Nomsg = 49, "no message of the desired type";
    Noprotoopt = 50, "protocol not available";
    Nospc = 51, "no space left on device";
    Nosys = 52, "function not supported";
    Notconn = 53, "the socket is not connected";
    Notdir = 54, "not a directory or a symbolic link to a directory";
    Notempty = 55, "directory not empty";
    Notrecoverable = 56, "state not recoverable";
    Notsock = 57, "not a socket";
    Notsup = 58, "not supported, or operation not supported on socket";
    Notty = 59, "inappropriate I/O control operation";
    Nxio = 60, "no such device or address";
    Overflow = 61, "value too large to be stored in data type";
    Ownerdead = 62, "previous owner died";
    Perm = 63, "operation not permitted";
    Pipe = 64, "broken pipe";
    Proto = 65, "protocol error";
    Protonosupport = 66, "protocol not supported";
    Prototype = 67, "protocol wrong type for socket";
    Range = 68, "result too large";
    Rofs = 69, "read-only file system";
    Spipe = 70, "invalid seek";
    Srch = 71, "no such process";
    Stale = 72, "reserved";
    Timedout = 73, "connection timed out";
    Txtbsy = 74, "text file busy";
    Xdev = 75, "cross-device link";
    Notcapable = 76, "extension: capabilities insufficient";
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (WASI errno {})", self.message(), *self as u16)
    }
}

impl std::error::Error for Errno {}

/// The result of a WASI operation.
pub type WasiResult<T> = Result<T, Errno>;

impl From<rustix::io::Errno> for Errno {
    fn from(e: rustix::io::Errno) -> Errno {
        use rustix::io::Errno as E;
        match e {
            E::TOOBIG => Errno::TooBig,
            E::ACCESS => Errno::Acces,
            E::ADDRINUSE => Errno::Addrinuse,
            E::ADDRNOTAVAIL => Errno::Addrnotavail,
            E::AFNOSUPPORT => Errno::Afnosupport,
            E::AGAIN => Errno::Again,
            E::ALREADY => Errno::Already,
            E::BADF => Errno::Badf,
            E::BADMSG => Errno::Badmsg,
            E::BUSY => Errno::Busy,
            E::CANCELED => Errno::Canceled,
            E::CHILD => Errno::Child,
            E::CONNABORTED => Errno::Connaborted,
            E::CONNREFUSED => Errno::Connrefused,
            E::CONNRESET => Errno::Connreset,
            E::DEADLK => Errno::Deadlk,
            E::DESTADDRREQ => Errno::Destaddrreq,
            E::DOM => Errno::Dom,
            E::DQUOT => Errno::Dquot,
            E::EXIST => Errno::Exist,
            E::FAULT => Errno::Fault,
            E::FBIG => Errno::Fbig,
            E::HOSTUNREACH => Errno::Hostunreach,
            E::IDRM => Errno::Idrm,
            E::ILSEQ => Errno::Ilseq,
            E::INPROGRESS => Errno::Inprogress,
            E::INTR => Errno::Intr,
            E::INVAL => Errno::Inval,
            E::IO => Errno::Io,
            E::ISCONN => Errno::Isconn,
            E::ISDIR => Errno::Isdir,
            E::LOOP => Errno::Loop,
            E::MFILE => Errno::Mfile,
            E::MLINK => Errno::Mlink,
            E::MSGSIZE => Errno::Msgsize,
            E::MULTIHOP => Errno::Multihop,
            E::NAMETOOLONG => Errno::Nametoolong,
            E::NETDOWN => Errno::Netdown,
            E::NETRESET => Errno::Netreset,
            E::NETUNREACH => Errno::Netunreach,
            E::NFILE => Errno::Nfile,
            E::NOBUFS => Errno::Nobufs,
            E::NODEV => Errno::Nodev,
            E::NOENT => Errno::Noent,
            E::NOEXEC => Errno::Noexec,
            E::NOLCK => Errno::Nolck,
            E::NOLINK => Errno::Nolink,
            E::NOMEM => Errno::Nomem,
            E::NOMSG => Errno::Nomsg,
            E::NOPROTOOPT => Errno::Noprotoopt,
            E::NOSPC => Errno::Nospc,
            E::NOSYS => Errno::Nosys,
            E::NOTCONN => Errno::Notconn,
            E::NOTDIR => Errno::Notdir,
            E::NOTEMPTY => Errno::Notempty,
            E::NOTRECOVERABLE => Errno::Notrecoverable,
            E::NOTSOCK => Errno::Notsock,
            E::NOTSUP => Errno::Notsup,
            E::NOTTY => Errno::Notty,
            E::NXIO => Errno::Nxio,
            E::OVERFLOW => Errno::Overflow,
            E::OWNERDEAD => Errno::Ownerdead,
            E::PERM => Errno::Perm,
            E::PIPE => Errno::Pipe,
            E::PROTO => Errno::Proto,
            E::PROTONOSUPPORT => Errno::Protonosupport,
            E::PROTOTYPE => Errno::Prototype,
            E::RANGE => Errno::Range,
            E::ROFS => Errno::Rofs,
            E::SPIPE => Errno::Spipe,
            E::SRCH => Errno::Srch,
            E::STALE => Errno::Stale,
            E::TIMEDOUT => Errno::Timedout,
            E::TXTBSY => Errno::Txtbsy,
            E::XDEV => Errno::Xdev,
            _ => Errno::Io,
        }
    }
}

impl From<io::Error> for Errno {
    /// Host errors keep their meaning: an OS error number maps to the WASI
    /// one; cap-std's sandbox refusals (a path that leads outside a
    /// preopened directory, an absolute path) become `perm`, as in Wasmtime.
    fn from(e: io::Error) -> Errno {
        if let Some(raw) = rustix::io::Errno::from_io_error(&e) {
            return raw.into();
        }
        use io::ErrorKind as K;
        match e.kind() {
            K::NotFound => Errno::Noent,
            K::PermissionDenied => Errno::Perm,
            K::AlreadyExists => Errno::Exist,
            K::InvalidInput => Errno::Inval,
            K::InvalidData => Errno::Ilseq,
            K::WouldBlock => Errno::Again,
            K::Interrupted => Errno::Intr,
            K::Unsupported => Errno::Notsup,
            K::UnexpectedEof => Errno::Io,
            K::OutOfMemory => Errno::Nomem,
            K::BrokenPipe => Errno::Pipe,
            K::TimedOut => Errno::Timedout,
            K::ConnectionRefused => Errno::Connrefused,
            K::ConnectionReset => Errno::Connreset,
            K::ConnectionAborted => Errno::Connaborted,
            K::NotConnected => Errno::Notconn,
            K::AddrInUse => Errno::Addrinuse,
            K::AddrNotAvailable => Errno::Addrnotavail,
            K::NotADirectory => Errno::Notdir,
            K::IsADirectory => Errno::Isdir,
            K::DirectoryNotEmpty => Errno::Notempty,
            K::ReadOnlyFilesystem => Errno::Rofs,
            K::StorageFull => Errno::Nospc,
            _ => Errno::Io,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_the_spec() {
        assert_eq!(Errno::Success as u16, 0);
        assert_eq!(Errno::Badf as u16, 8);
        assert_eq!(Errno::Fault as u16, 21);
        assert_eq!(Errno::Inval as u16, 28);
        assert_eq!(Errno::Noent as u16, 44);
        assert_eq!(Errno::Perm as u16, 63);
        assert_eq!(Errno::Notcapable as u16, 76);
        for raw in 0..=76 {
            assert_eq!(Errno::from_raw(raw).unwrap() as u16, raw);
        }
        assert_eq!(Errno::from_raw(77), None);
    }

    #[test]
    fn host_errors_map() {
        let e = io::Error::from_raw_os_error(rustix::io::Errno::NOENT.raw_os_error());
        assert_eq!(Errno::from(e), Errno::Noent);
        let e = io::Error::new(io::ErrorKind::PermissionDenied, "escape");
        assert_eq!(Errno::from(e), Errno::Perm);
    }
}
