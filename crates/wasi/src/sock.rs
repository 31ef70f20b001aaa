//! Sockets: accepting connections on a preopened listener, and receiving,
//! sending and shutting down on the connections.

use std::io::{Read, Write};
use std::net::Shutdown;

use crate::ctx::WasiCtx;
use crate::errno::{Errno, WasiResult};
use crate::memory::GuestMemory;
use crate::table::{Entry, Kind};
use crate::types::{fdflags, filetype, flags, rights};

impl WasiCtx {
    pub(crate) fn sock_accept(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        fdflags_: u16,
        out: u32,
    ) -> WasiResult<()> {
        mem.check(out, 4, 4)?;
        let entry = self.table.get(fd)?;
        let Kind::Listener(l) = &entry.kind else {
            return Err(Errno::Notsock);
        };
        entry.require(rights::SOCK_ACCEPT)?;
        if fdflags_ & !fdflags::NONBLOCK != 0 {
            return Err(Errno::Inval);
        }
        let inheriting = entry.inheriting;
        let (stream, _) = l.accept()?;
        stream.set_nonblocking(fdflags_ & fdflags::NONBLOCK != 0)?;
        let mut e = Entry::new(
            Kind::Stream(stream),
            filetype::SOCKET_STREAM,
            rights::SOCKET & inheriting,
            0,
        );
        e.flags = fdflags_;
        let new = self.table.insert(e)?;
        mem.write_u32(out, new as u32)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sock_recv(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        iovs: u32,
        iovs_len: u32,
        riflags: u16,
        nread: u32,
        roflags: u32,
    ) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        let Kind::Stream(s) = &entry.kind else {
            return Err(Errno::Notsock);
        };
        entry.require(rights::FD_READ)?;
        if riflags & !(flags::RECV_PEEK | flags::RECV_WAITALL) != 0 {
            return Err(Errno::Inval);
        }
        let iovs = mem.iovecs(iovs, iovs_len)?;
        mem.check(nread, 4, 4)?;
        mem.check(roflags, 2, 2)?;
        // Straight into guest memory, with no host buffer: a peek or a
        // plain receive fills (part of) the first buffer, a WAITALL one
        // fills the buffers in turn until they are full (their total is
        // bounded by memory) or the stream ends.
        let mut s: &std::net::TcpStream = s;
        let n = if riflags & flags::RECV_PEEK != 0 {
            match iovs.first() {
                Some(v) => s.peek(mem.slice_mut(v.ptr, v.len)?)?,
                None => 0,
            }
        } else if riflags & flags::RECV_WAITALL != 0 {
            let mut done = 0usize;
            'fill: for v in &iovs {
                let buf = mem.slice_mut(v.ptr, v.len)?;
                let mut filled = 0;
                while filled < buf.len() {
                    match s.read(&mut buf[filled..]) {
                        Ok(0) => break 'fill,
                        Ok(k) => {
                            filled += k;
                            done += k;
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) if done > 0 && e.kind() == std::io::ErrorKind::WouldBlock => {
                            break 'fill;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            done
        } else {
            match iovs.first() {
                Some(v) => s.read(mem.slice_mut(v.ptr, v.len)?)?,
                None => 0,
            }
        };
        mem.write_u32(nread, n as u32)?;
        mem.write_u16(roflags, 0)
    }

    pub(crate) fn sock_send(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        iovs: u32,
        iovs_len: u32,
        siflags: u16,
        nwritten: u32,
    ) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        let Kind::Stream(s) = &entry.kind else {
            return Err(Errno::Notsock);
        };
        entry.require(rights::FD_WRITE)?;
        if siflags != 0 {
            return Err(Errno::Inval);
        }
        let iovs = mem.iovecs(iovs, iovs_len)?;
        mem.check(nwritten, 4, 4)?;
        let mut s: &std::net::TcpStream = s;
        let n = s.write_vectored(&mem.io_slices(&iovs)?)?;
        mem.write_u32(nwritten, n as u32)
    }

    pub(crate) fn sock_shutdown(&mut self, fd: i32, how: u8) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        let Kind::Stream(s) = &entry.kind else {
            return Err(Errno::Notsock);
        };
        entry.require(rights::SOCK_SHUTDOWN)?;
        let how = match how {
            flags::SHUT_RD => Shutdown::Read,
            flags::SHUT_WR => Shutdown::Write,
            x if x == flags::SHUT_RD | flags::SHUT_WR => Shutdown::Both,
            _ => return Err(Errno::Inval),
        };
        s.shutdown(how)?;
        Ok(())
    }
}
