//! `fd_readdir`: directory listings with cookies.
//!
//! A listing starts at cookie 0: the directory is read once, with `.` and
//! `..` first, and kept with the fd. Later calls with a non-zero cookie
//! continue in that same listing, so entries added or removed while a guest
//! walks a directory (say, `rm -r` unlinking as it reads) neither shift the
//! cookies nor make entries appear twice or vanish. Cookie `n` names the
//! position after the `n`th entry, as in Wasmtime.

use std::os::unix::ffi::OsStrExt;

use rustix::fs::DirEntryExt;

use crate::ctx::WasiCtx;
use crate::errno::{Errno, WasiResult};
use crate::fd::fstat;
use crate::memory::GuestMemory;
use crate::path::filetype_of;
use crate::table::{DirEnt, Kind};
use crate::types::{filetype, layout::DIRENT_SIZE, rights};

/// Reads the whole directory: `.`, `..`, then its entries in host order.
fn list(dir: &cap_std::fs::Dir) -> WasiResult<Vec<DirEnt>> {
    use std::os::fd::AsFd;
    let me = fstat(dir.as_fd())?;
    let mut out = vec![
        DirEnt {
            name: b".".to_vec(),
            ino: me.ino,
            filetype: filetype::DIRECTORY,
        },
        DirEnt {
            name: b"..".to_vec(),
            ino: 0,
            filetype: filetype::DIRECTORY,
        },
    ];
    for entry in dir.entries()? {
        let entry = entry?;
        let ft = match entry.file_type() {
            Ok(ft) => filetype_of(ft),
            // The entry went away between listing and looking at it.
            Err(_) => continue,
        };
        out.push(DirEnt {
            name: entry.file_name().as_bytes().to_vec(),
            ino: entry.ino(),
            filetype: ft,
        });
    }
    Ok(out)
}

impl WasiCtx {
    /// The entries of directory `fd` (which needs `fd_readdir`), `.` and
    /// `..` first, for WASI 0.2's `read-directory`.
    pub(crate) fn dir_listing(&self, fd: i32) -> WasiResult<Vec<DirEnt>> {
        let entry = self.table.get(fd)?;
        if !entry.is_dir() {
            return Err(Errno::Notdir);
        }
        entry.require(rights::FD_READDIR)?;
        list(entry.dir()?)
    }

    pub(crate) fn fd_readdir(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        buf: u32,
        buf_len: u32,
        cookie: u64,
        bufused: u32,
    ) -> WasiResult<()> {
        let entry = self.table.get_mut(fd)?;
        if !entry.is_dir() {
            return Err(Errno::Notdir);
        }
        entry.require(rights::FD_READDIR)?;
        let Kind::Dir(handle) = &mut entry.kind else {
            return Err(Errno::Notdir);
        };
        mem.slice(buf, buf_len)?;
        mem.check(bufused, 4, 4)?;
        if cookie == 0 || handle.listing.is_none() {
            handle.listing = Some(list(&handle.dir)?);
        }
        let listing = handle.listing.as_deref().unwrap_or_default();
        let start = usize::try_from(cookie).unwrap_or(usize::MAX);
        // Entries go straight into the guest's buffer (the last one cut at
        // its end), so the host allocates nothing sized by `buf_len`.
        let out = mem.slice_mut(buf, buf_len)?;
        let mut used = 0;
        for (i, ent) in listing.iter().enumerate().skip(start) {
            if used == out.len() {
                break;
            }
            let mut header = [0u8; DIRENT_SIZE];
            header[0..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            header[8..16].copy_from_slice(&ent.ino.to_le_bytes());
            header[16..20].copy_from_slice(&(ent.name.len() as u32).to_le_bytes());
            header[20] = ent.filetype;
            for part in [&header[..], &ent.name] {
                let k = part.len().min(out.len() - used);
                out[used..used + k].copy_from_slice(&part[..k]);
                used += k;
            }
        }
        mem.write_u32(bufused, used as u32)
    }
}
