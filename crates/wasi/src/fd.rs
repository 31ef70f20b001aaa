//! Functions on an open fd: reading and writing, seeking, syncing, flags,
//! rights, metadata, closing and renumbering, and the preopen queries.

use std::io::{Read, Seek, SeekFrom, Write};
use std::num::NonZeroU64;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileExt;

use rustix::fs::{Advice, FallocateFlags, OFlags, Timespec, Timestamps, UTIME_NOW, UTIME_OMIT};

use crate::ctx::WasiCtx;
use crate::errno::{Errno, WasiResult};
use crate::memory::GuestMemory;
use crate::table::Kind;
use crate::types::{advice, fdflags, filetype, flags, fstflags, layout, rights, whence};

/// A `filestat`, ready to be written to guest memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Filestat {
    pub dev: u64,
    pub ino: u64,
    pub filetype: u8,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

impl Filestat {
    pub(crate) fn write(&self, mem: &mut GuestMemory, ptr: u32) -> WasiResult<()> {
        mem.check(ptr, layout::FILESTAT_SIZE, 8)?;
        mem.slice_mut(ptr, layout::FILESTAT_SIZE)?.fill(0);
        mem.write_u64(ptr, self.dev)?;
        mem.write_u64(ptr + 8, self.ino)?;
        mem.write_u8(ptr + 16, self.filetype)?;
        mem.write_u64(ptr + 24, self.nlink)?;
        mem.write_u64(ptr + 32, self.size)?;
        mem.write_u64(ptr + 40, self.atim)?;
        mem.write_u64(ptr + 48, self.mtim)?;
        mem.write_u64(ptr + 56, self.ctim)
    }
}

/// Nanoseconds since the epoch; times before it read as 0.
pub(crate) fn nanos(secs: i64, nsec: i64) -> u64 {
    if secs < 0 {
        return 0;
    }
    (secs as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(nsec as u64)
}

/// The WASI file type of a host mode.
pub(crate) fn filetype_of_mode(mode: u32) -> u8 {
    use rustix::fs::FileType as T;
    match T::from_raw_mode(mode as _) {
        T::RegularFile => filetype::REGULAR_FILE,
        T::Directory => filetype::DIRECTORY,
        T::Symlink => filetype::SYMBOLIC_LINK,
        T::CharacterDevice => filetype::CHARACTER_DEVICE,
        T::BlockDevice => filetype::BLOCK_DEVICE,
        T::Socket => filetype::SOCKET_STREAM,
        _ => filetype::UNKNOWN,
    }
}

/// `fstat` of a host fd as a WASI `filestat`.
pub(crate) fn fstat(fd: BorrowedFd<'_>) -> WasiResult<Filestat> {
    let st = rustix::fs::fstat(fd)?;
    Ok(Filestat {
        dev: st.st_dev as u64,
        ino: st.st_ino as u64,
        filetype: filetype_of_mode(st.st_mode as u32),
        nlink: st.st_nlink as u64,
        size: st.st_size as u64,
        atim: nanos(st.st_atime as i64, st.st_atime_nsec as i64),
        mtim: nanos(st.st_mtime as i64, st.st_mtime_nsec as i64),
        ctim: nanos(st.st_ctime as i64, st.st_ctime_nsec as i64),
    })
}

/// Checks `fst_flags` and turns them and the two times into `utimensat`
/// timestamps.
pub(crate) fn timestamps(atim: u64, mtim: u64, fst: u16) -> WasiResult<Timestamps> {
    if fst & !fstflags::ALL != 0
        || fst & (fstflags::ATIM | fstflags::ATIM_NOW) == fstflags::ATIM | fstflags::ATIM_NOW
        || fst & (fstflags::MTIM | fstflags::MTIM_NOW) == fstflags::MTIM | fstflags::MTIM_NOW
    {
        return Err(Errno::Inval);
    }
    let spec = |t: u64, set: u16, now: u16| {
        if fst & now != 0 {
            Timespec {
                tv_sec: 0,
                tv_nsec: UTIME_NOW as _,
            }
        } else if fst & set != 0 {
            Timespec {
                tv_sec: (t / 1_000_000_000) as i64,
                tv_nsec: (t % 1_000_000_000) as _,
            }
        } else {
            Timespec {
                tv_sec: 0,
                tv_nsec: UTIME_OMIT as _,
            }
        }
    };
    Ok(Timestamps {
        last_access: spec(atim, fstflags::ATIM, fstflags::ATIM_NOW),
        last_modification: spec(mtim, fstflags::MTIM, fstflags::MTIM_NOW),
    })
}

impl WasiCtx {
    pub(crate) fn fd_close(&mut self, fd: i32) -> WasiResult<()> {
        self.table.remove(fd).map(drop)
    }

    pub(crate) fn fd_renumber(&mut self, from: i32, to: i32) -> WasiResult<()> {
        self.table.renumber(from, to)
    }

    pub(crate) fn fd_read(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        iovs: u32,
        iovs_len: u32,
        nread: u32,
    ) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        entry.require(rights::FD_READ)?;
        let iovs = mem.iovecs(iovs, iovs_len)?;
        mem.check(nread, 4, 4)?;
        let nonblock = entry.flags & fdflags::NONBLOCK != 0;
        let mut total = 0usize;
        match &entry.kind {
            Kind::File(f) => {
                let mut f: &std::fs::File = f;
                for v in &iovs {
                    let buf = mem.slice_mut(v.ptr, v.len)?;
                    let n = f.read(buf)?;
                    total += n;
                    if n < buf.len() {
                        break;
                    }
                }
            }
            Kind::Input(input) => {
                if let Some(v) = iovs.iter().find(|v| v.len > 0) {
                    if nonblock && !crate::poll::ready_now(input.host_fd(), true) {
                        return Err(Errno::Again);
                    }
                    total = input.read(mem.slice_mut(v.ptr, v.len)?)?;
                }
            }
            Kind::Stream(s) => {
                if let Some(v) = iovs.iter().find(|v| v.len > 0) {
                    let mut s: &std::net::TcpStream = s;
                    total = s.read(mem.slice_mut(v.ptr, v.len)?)?;
                }
            }
            Kind::Dir(_) => return Err(Errno::Isdir),
            Kind::Output(_) | Kind::Listener(_) => return Err(Errno::Badf),
        }
        mem.write_u32(nread, total as u32)
    }

    pub(crate) fn fd_pread(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        iovs: u32,
        iovs_len: u32,
        offset: u64,
        nread: u32,
    ) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        if matches!(
            entry.kind,
            Kind::Input(_) | Kind::Output(_) | Kind::Stream(_)
        ) {
            // Streams have no offsets, whatever their rights.
            return Err(Errno::Spipe);
        }
        entry.require(rights::FD_READ | rights::FD_SEEK)?;
        let iovs = mem.iovecs(iovs, iovs_len)?;
        mem.check(nread, 4, 4)?;
        let Kind::File(f) = &entry.kind else {
            return Err(if entry.is_dir() {
                Errno::Isdir
            } else {
                Errno::Spipe
            });
        };
        let mut total = 0u64;
        for v in &iovs {
            let buf = mem.slice_mut(v.ptr, v.len)?;
            let at = offset.checked_add(total).ok_or(Errno::Inval)?;
            let n = f.read_at(buf, at)?;
            total += n as u64;
            if n < buf.len() {
                break;
            }
        }
        mem.write_u32(nread, total as u32)
    }

    pub(crate) fn fd_write(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        iovs: u32,
        iovs_len: u32,
        nwritten: u32,
    ) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        entry.require(rights::FD_WRITE)?;
        let iovs = mem.iovecs(iovs, iovs_len)?;
        mem.check(nwritten, 4, 4)?;
        // Straight from guest memory: one vectored write, no host buffer.
        let mut bufs = mem.io_slices(&iovs)?;
        let n = match &entry.kind {
            Kind::File(f) => {
                let mut f: &std::fs::File = f;
                f.write_vectored(&bufs)?
            }
            Kind::Output(out) => out.write_vectored(&mut bufs)?,
            Kind::Stream(s) => {
                let mut s: &std::net::TcpStream = s;
                s.write_vectored(&bufs)?
            }
            Kind::Dir(_) => return Err(Errno::Isdir),
            Kind::Input(_) | Kind::Listener(_) => return Err(Errno::Badf),
        };
        drop(bufs);
        mem.write_u32(nwritten, n as u32)
    }

    pub(crate) fn fd_pwrite(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        iovs: u32,
        iovs_len: u32,
        offset: u64,
        nwritten: u32,
    ) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        if matches!(
            entry.kind,
            Kind::Input(_) | Kind::Output(_) | Kind::Stream(_)
        ) {
            // Streams have no offsets, whatever their rights.
            return Err(Errno::Spipe);
        }
        entry.require(rights::FD_WRITE | rights::FD_SEEK)?;
        let iovs = mem.iovecs(iovs, iovs_len)?;
        mem.check(nwritten, 4, 4)?;
        let Kind::File(f) = &entry.kind else {
            return Err(if entry.is_dir() {
                Errno::Isdir
            } else {
                Errno::Spipe
            });
        };
        let n = rustix::io::pwritev(f, &mem.io_slices(&iovs)?, offset)?;
        mem.write_u32(nwritten, n as u32)
    }

    pub(crate) fn fd_seek(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        offset: i64,
        how: u8,
        newoffset: u32,
    ) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        let needed = if offset == 0 && how == whence::CUR {
            if entry.base & rights::FD_TELL != 0 {
                rights::FD_TELL
            } else {
                rights::FD_SEEK
            }
        } else {
            rights::FD_SEEK
        };
        let pos = match how {
            whence::SET => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
            whence::CUR => SeekFrom::Current(offset),
            whence::END => SeekFrom::End(offset),
            _ => return Err(Errno::Inval),
        };
        mem.check(newoffset, 8, 8)?;
        let f = match &entry.kind {
            Kind::File(f) => f,
            Kind::Dir(_) => return Err(Errno::Notcapable),
            _ => return Err(Errno::Spipe),
        };
        entry.require(needed)?;
        let mut f: &std::fs::File = f;
        let n = f.seek(pos)?;
        mem.write_u64(newoffset, n)
    }

    pub(crate) fn fd_tell(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        offset: u32,
    ) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        mem.check(offset, 8, 8)?;
        let f = match &entry.kind {
            Kind::File(f) => f,
            Kind::Dir(_) => return Err(Errno::Notcapable),
            _ => return Err(Errno::Spipe),
        };
        entry.require(rights::FD_TELL)?;
        let mut f: &std::fs::File = f;
        let n = f.stream_position()?;
        mem.write_u64(offset, n)
    }

    pub(crate) fn fd_sync(&mut self, fd: i32, data_only: bool) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        entry.require(if data_only {
            rights::FD_DATASYNC
        } else {
            rights::FD_SYNC
        })?;
        match &entry.kind {
            Kind::File(_) | Kind::Dir(_) => {
                let fd = entry.host_fd().ok_or(Errno::Badf)?;
                if data_only {
                    rustix::fs::fdatasync(fd)?;
                } else {
                    rustix::fs::fsync(fd)?;
                }
                Ok(())
            }
            _ => Err(Errno::Inval),
        }
    }

    pub(crate) fn fd_advise(&mut self, fd: i32, offset: u64, len: u64, adv: u8) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        let adv = match adv {
            advice::NORMAL => Advice::Normal,
            advice::SEQUENTIAL => Advice::Sequential,
            advice::RANDOM => Advice::Random,
            advice::WILLNEED => Advice::WillNeed,
            advice::DONTNEED => Advice::DontNeed,
            advice::NOREUSE => Advice::NoReuse,
            _ => return Err(Errno::Inval),
        };
        entry.require(rights::FD_ADVISE)?;
        match &entry.kind {
            Kind::File(f) => {
                if i64::try_from(offset).is_err() || i64::try_from(len).is_err() {
                    return Err(Errno::Inval);
                }
                rustix::fs::fadvise(f, offset, NonZeroU64::new(len), adv)?;
                Ok(())
            }
            Kind::Dir(_) => Err(Errno::Badf),
            _ => Err(Errno::Spipe),
        }
    }

    pub(crate) fn fd_allocate(&mut self, fd: i32, offset: u64, len: u64) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        entry.require(rights::FD_ALLOCATE)?;
        let Kind::File(f) = &entry.kind else {
            return Err(if entry.is_dir() {
                Errno::Isdir
            } else {
                Errno::Spipe
            });
        };
        let end = offset.checked_add(len).ok_or(Errno::Fbig)?;
        if i64::try_from(end).is_err() {
            return Err(Errno::Fbig);
        }
        if len == 0 {
            return Err(Errno::Inval);
        }
        match rustix::fs::fallocate(f, FallocateFlags::empty(), offset, len) {
            Ok(()) => Ok(()),
            Err(rustix::io::Errno::OPNOTSUPP) => {
                if f.metadata()?.len() < end {
                    f.set_len(end)?;
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) fn fd_fdstat_get(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        out: u32,
    ) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        mem.check(out, layout::FDSTAT_SIZE, 8)?;
        mem.slice_mut(out, layout::FDSTAT_SIZE)?.fill(0);
        mem.write_u8(out, entry.filetype)?;
        mem.write_u16(out + 2, entry.flags)?;
        mem.write_u64(out + 8, entry.base)?;
        mem.write_u64(out + 16, entry.inheriting)
    }

    pub(crate) fn fd_fdstat_set_flags(&mut self, fd: i32, new: u16) -> WasiResult<()> {
        let entry = self.table.get_mut(fd)?;
        entry.require(rights::FD_FDSTAT_SET_FLAGS)?;
        if new & !fdflags::ALL != 0 {
            return Err(Errno::Inval);
        }
        let sync = fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC;
        if new & sync != entry.flags & sync {
            // Linux cannot change these after opening.
            return Err(Errno::Inval);
        }
        match &entry.kind {
            Kind::File(f) => {
                let mut fl = rustix::fs::fcntl_getfl(f)?;
                fl.set(OFlags::APPEND, new & fdflags::APPEND != 0);
                fl.set(OFlags::NONBLOCK, new & fdflags::NONBLOCK != 0);
                rustix::fs::fcntl_setfl(f, fl)?;
            }
            Kind::Stream(s) => s.set_nonblocking(new & fdflags::NONBLOCK != 0)?,
            Kind::Listener(l) => l.set_nonblocking(new & fdflags::NONBLOCK != 0)?,
            Kind::Dir(_) | Kind::Input(_) | Kind::Output(_) => {
                if new & fdflags::APPEND != 0 && entry.flags & fdflags::APPEND == 0 {
                    return Err(Errno::Inval);
                }
            }
        }
        entry.flags = new;
        Ok(())
    }

    pub(crate) fn fd_fdstat_set_rights(
        &mut self,
        fd: i32,
        base: u64,
        inheriting: u64,
    ) -> WasiResult<()> {
        let entry = self.table.get_mut(fd)?;
        if base & !entry.base != 0 || inheriting & !entry.inheriting != 0 {
            return Err(Errno::Notcapable);
        }
        entry.base = base;
        entry.inheriting = inheriting;
        Ok(())
    }

    pub(crate) fn fd_filestat_get(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        out: u32,
    ) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        entry.require(rights::FD_FILESTAT_GET)?;
        mem.check(out, layout::FILESTAT_SIZE, 8)?;
        let mut st = match entry.host_fd() {
            Some(fd) => fstat(fd)?,
            None => Filestat::default(),
        };
        if matches!(entry.kind, Kind::Input(_) | Kind::Output(_))
            || st.filetype == filetype::UNKNOWN
        {
            st.filetype = entry.filetype;
        }
        st.write(mem, out)
    }

    pub(crate) fn fd_filestat_set_size(&mut self, fd: i32, size: u64) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        entry.require(rights::FD_FILESTAT_SET_SIZE)?;
        match &entry.kind {
            Kind::File(f) => {
                if i64::try_from(size).is_err() {
                    return Err(Errno::Fbig);
                }
                f.set_len(size)?;
                Ok(())
            }
            Kind::Dir(_) => Err(Errno::Isdir),
            _ => Err(Errno::Inval),
        }
    }

    pub(crate) fn fd_filestat_set_times(
        &mut self,
        fd: i32,
        atim: u64,
        mtim: u64,
        fst: u16,
    ) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        entry.require(rights::FD_FILESTAT_SET_TIMES)?;
        let times = timestamps(atim, mtim, fst)?;
        let fd = entry.host_fd().ok_or(Errno::Badf)?;
        rustix::fs::futimens(fd.as_fd(), &times)?;
        Ok(())
    }

    pub(crate) fn fd_prestat_get(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        out: u32,
    ) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        let name = entry.preopen.as_ref().ok_or(Errno::Badf)?;
        mem.check(out, layout::PRESTAT_SIZE, 4)?;
        mem.slice_mut(out, layout::PRESTAT_SIZE)?.fill(0);
        mem.write_u8(out, flags::PREOPENTYPE_DIR)?;
        mem.write_u32(out + 4, name.len() as u32)
    }

    pub(crate) fn fd_prestat_dir_name(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        path: u32,
        len: u32,
    ) -> WasiResult<()> {
        let entry = self.table.get(fd)?;
        let name = entry.preopen.as_ref().ok_or(Errno::Badf)?;
        if (len as usize) < name.len() {
            return Err(Errno::Nametoolong);
        }
        mem.write_bytes(path, name)
    }
}
