//! The guest's file descriptor table: what each fd is, the rights it
//! carries, its flags, and whether it is a preopened directory.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};

use crate::errno::{Errno, WasiResult};
use crate::stdio::{Input, Output};
use crate::types::filetype;

/// One directory entry remembered for `fd_readdir`.
pub(crate) struct DirEnt {
    pub name: Vec<u8>,
    pub ino: u64,
    pub filetype: u8,
}

/// An open directory: the capability, and the listing `fd_readdir` serves
/// cookies from (taken when a listing starts at cookie 0, so that cookies
/// stay valid while entries are added or removed).
pub(crate) struct DirHandle {
    pub dir: cap_std::fs::Dir,
    pub listing: Option<Vec<DirEnt>>,
}

/// What an fd refers to.
pub(crate) enum Kind {
    File(File),
    Dir(DirHandle),
    Input(Input),
    Output(Output),
    Listener(TcpListener),
    Stream(TcpStream),
}

/// An fd table entry.
pub(crate) struct Entry {
    pub kind: Kind,
    pub filetype: u8,
    pub base: u64,
    pub inheriting: u64,
    pub flags: u16,
    /// The guest path, for a preopened directory.
    pub preopen: Option<Vec<u8>>,
}

impl Entry {
    pub(crate) fn new(kind: Kind, filetype: u8, base: u64, inheriting: u64) -> Entry {
        Entry {
            kind,
            filetype,
            base,
            inheriting,
            flags: 0,
            preopen: None,
        }
    }

    /// Fails with `notcapable` unless the fd has every right in `rights`.
    pub(crate) fn require(&self, rights: u64) -> WasiResult<()> {
        if self.base & rights == rights {
            Ok(())
        } else {
            Err(Errno::Notcapable)
        }
    }

    /// The directory, or `notdir`.
    pub(crate) fn dir(&self) -> WasiResult<&cap_std::fs::Dir> {
        match &self.kind {
            Kind::Dir(d) => Ok(&d.dir),
            _ => Err(Errno::Notdir),
        }
    }

    /// The host fd, if the entry has one.
    pub(crate) fn host_fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.kind {
            Kind::File(f) => Some(f.as_fd()),
            Kind::Dir(d) => Some(d.dir.as_fd()),
            Kind::Input(i) => i.host_fd(),
            Kind::Output(o) => o.host_fd(),
            Kind::Listener(l) => Some(l.as_fd()),
            Kind::Stream(s) => Some(s.as_fd()),
        }
    }

    pub(crate) fn is_dir(&self) -> bool {
        self.filetype == filetype::DIRECTORY
    }
}

/// The most fds a guest may hold at once.
pub const MAX_FDS: usize = 1 << 16;

/// The table: slot `n` is fd `n`. New fds take the lowest free number, as
/// POSIX does.
#[derive(Default)]
pub(crate) struct FdTable {
    slots: Vec<Option<Entry>>,
}

impl FdTable {
    fn index(fd: i32) -> WasiResult<usize> {
        usize::try_from(fd).map_err(|_| Errno::Badf)
    }

    pub(crate) fn get(&self, fd: i32) -> WasiResult<&Entry> {
        self.slots
            .get(Self::index(fd)?)
            .and_then(Option::as_ref)
            .ok_or(Errno::Badf)
    }

    pub(crate) fn get_mut(&mut self, fd: i32) -> WasiResult<&mut Entry> {
        self.slots
            .get_mut(Self::index(fd)?)
            .and_then(Option::as_mut)
            .ok_or(Errno::Badf)
    }

    /// Puts `entry` at the lowest free fd.
    pub(crate) fn insert(&mut self, entry: Entry) -> WasiResult<i32> {
        let slot = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None if self.slots.len() < MAX_FDS => {
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return Err(Errno::Mfile),
        };
        self.slots[slot] = Some(entry);
        Ok(slot as i32)
    }

    /// Puts `entry` at `fd` exactly (used while building a context).
    pub(crate) fn insert_at(&mut self, fd: usize, entry: Entry) {
        if self.slots.len() <= fd {
            self.slots.resize_with(fd + 1, || None);
        }
        self.slots[fd] = Some(entry);
    }

    pub(crate) fn remove(&mut self, fd: i32) -> WasiResult<Entry> {
        let entry = self
            .slots
            .get_mut(Self::index(fd)?)
            .and_then(Option::take)
            .ok_or(Errno::Badf)?;
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        Ok(entry)
    }

    /// Moves `from` to `to`, closing what `to` held. Both must be open, as
    /// in Wasmtime; renumbering an fd to itself does nothing.
    pub(crate) fn renumber(&mut self, from: i32, to: i32) -> WasiResult<()> {
        self.get(from)?;
        self.get(to)?;
        if from == to {
            return Ok(());
        }
        let entry = self.remove(from)?;
        let old = self.slots[Self::index(to)?].replace(entry);
        drop(old);
        Ok(())
    }

    /// Every open fd, in order.
    pub(crate) fn fds(&self) -> impl Iterator<Item = i32> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_some())
            .map(|(i, _)| i as i32)
    }
}
