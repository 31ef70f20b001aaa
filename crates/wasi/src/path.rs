//! The `path_*` functions. Every path is resolved by cap-std beneath the
//! directory of the fd it is given with: `..` past that directory, absolute
//! paths and symlinks that lead outside it (found or created, with or
//! without a trailing slash) all fail, with `perm` as in Wasmtime.

use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use cap_fs_ext::{
    DirExt, FollowSymlinks, OpenOptionsFollowExt, OpenOptionsMaybeDirExt, OpenOptionsSyncExt,
    OsMetadataExt, SystemTimeSpec,
};

use crate::ctx::WasiCtx;
use crate::errno::{Errno, WasiResult};
use crate::fd::{Filestat, fstat, nanos};
use crate::memory::GuestMemory;
use crate::table::{DirHandle, Entry, Kind};
use crate::types::{fdflags, filetype, fstflags, lookupflags, oflags, rights};

fn path(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

/// `p` without trailing slashes (unless that would leave nothing), and
/// whether it had any.
fn strip_slashes(p: &[u8]) -> (&[u8], bool) {
    let mut end = p.len();
    while end > 1 && p[end - 1] == b'/' {
        end -= 1;
    }
    (&p[..end], end < p.len())
}

/// Whether resolving `p` must follow its last component: it ends in a
/// slash, or its last component is `.` or `..`.
fn names_a_directory(p: &[u8]) -> bool {
    let last = p.rsplit(|&b| b == b'/').next().unwrap_or_default();
    p.ends_with(b"/") || last == b"." || last == b".."
}

/// Fails with `perm` when `p` must be followed to its end (see
/// [`names_a_directory`]) and following it leads out of `dir`. The host
/// calls below do not follow a last symlink (and some drop the trailing
/// slash), so without this `rmdir("link_out/")` would be `notdir` rather
/// than the escape it is; Wasmtime says `perm`. Other failures (the path
/// does not exist yet, say) are left to the call itself.
fn no_escape_through_last(dir: &cap_std::fs::Dir, p: &[u8]) -> WasiResult<()> {
    if names_a_directory(p)
        && matches!(dir.metadata(path(p)).map_err(Errno::from), Err(Errno::Perm))
    {
        return Err(Errno::Perm);
    }
    Ok(())
}

/// Fails with `notdir` unless `p` (not followed) is a directory.
fn must_be_dir(dir: &cap_std::fs::Dir, p: &[u8]) -> WasiResult<()> {
    if dir.symlink_metadata(path(p))?.is_dir() {
        Ok(())
    } else {
        Err(Errno::Notdir)
    }
}

fn follow(flags: u32) -> WasiResult<bool> {
    if flags & !lookupflags::SYMLINK_FOLLOW != 0 {
        return Err(Errno::Inval);
    }
    Ok(flags & lookupflags::SYMLINK_FOLLOW != 0)
}

/// The WASI file type of a cap-std file type.
pub(crate) fn filetype_of(ft: cap_std::fs::FileType) -> u8 {
    use cap_fs_ext::FileTypeExt;
    if ft.is_dir() {
        filetype::DIRECTORY
    } else if ft.is_file() {
        filetype::REGULAR_FILE
    } else if ft.is_symlink() {
        filetype::SYMBOLIC_LINK
    } else if ft.is_char_device() {
        filetype::CHARACTER_DEVICE
    } else if ft.is_block_device() {
        filetype::BLOCK_DEVICE
    } else if ft.is_socket() {
        filetype::SOCKET_STREAM
    } else {
        filetype::UNKNOWN
    }
}

fn time_spec(t: u64, fst: u16, set: u16, now: u16) -> Option<SystemTimeSpec> {
    if fst & now != 0 {
        Some(SystemTimeSpec::SymbolicNow)
    } else if fst & set != 0 {
        Some(SystemTimeSpec::Absolute(
            cap_std::time::SystemTime::from_std(UNIX_EPOCH + Duration::from_nanos(t)),
        ))
    } else {
        None
    }
}

impl WasiCtx {
    /// The directory of `fd` for a path operation needing `needed`.
    fn dir_for(&self, fd: i32, needed: u64) -> WasiResult<&cap_std::fs::Dir> {
        let entry = self.table.get(fd)?;
        let dir = entry.dir()?;
        entry.require(needed)?;
        Ok(dir)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn path_open(
        &mut self,
        mem: &mut GuestMemory,
        dirfd: i32,
        dirflags: u32,
        path_ptr: u32,
        path_len: u32,
        oflags: u16,
        base: u64,
        inheriting: u64,
        fdflags: u16,
        opened: u32,
    ) -> WasiResult<()> {
        let p = mem.read_path(path_ptr, path_len)?;
        mem.check(opened, 4, 4)?;
        let follow = follow(dirflags)?;
        if oflags & !oflags::ALL != 0 || fdflags & !fdflags::ALL != 0 {
            return Err(Errno::Inval);
        }
        let parent = self.table.get(dirfd)?;
        let dir = parent.dir()?;
        let mut needed = rights::PATH_OPEN;
        if oflags & oflags::CREAT != 0 {
            needed |= rights::PATH_CREATE_FILE;
        }
        if oflags & oflags::TRUNC != 0 {
            needed |= rights::PATH_FILESTAT_SET_SIZE;
        }
        parent.require(needed)?;
        // Rights no file or directory can use (socket rights, bits no
        // right has) are dropped, as Wasmtime does, not refused; the rest
        // must be ones the directory passes on.
        let (base, inheriting) = (
            base & (rights::FILE | rights::DIRECTORY),
            inheriting & (rights::FILE | rights::DIRECTORY),
        );
        if base & !parent.inheriting != 0 || inheriting & !parent.inheriting != 0 {
            return Err(Errno::Notcapable);
        }
        let follow_opt = if follow {
            FollowSymlinks::Yes
        } else {
            FollowSymlinks::No
        };
        let kept_flags = fdflags
            & (fdflags::APPEND
                | fdflags::DSYNC
                | fdflags::RSYNC
                | fdflags::SYNC
                | fdflags::NONBLOCK);

        let mut entry = if oflags & oflags::DIRECTORY != 0 {
            if oflags & (oflags::CREAT | oflags::TRUNC) != 0 {
                return Err(Errno::Inval);
            }
            if base & rights::FD_WRITE != 0 {
                return Err(Errno::Isdir);
            }
            let d = if follow {
                dir.open_dir(path(&p))?
            } else {
                dir.open_dir_nofollow(path(&p))?
            };
            Entry::new(
                Kind::Dir(DirHandle {
                    dir: d,
                    listing: None,
                }),
                filetype::DIRECTORY,
                base & rights::DIRECTORY,
                inheriting,
            )
        } else {
            let trunc = oflags & oflags::TRUNC != 0;
            let write = trunc
                || base & (rights::FD_WRITE | rights::FD_ALLOCATE | rights::FD_FILESTAT_SET_SIZE)
                    != 0;
            let read = base & (rights::FD_READ | rights::FD_READDIR) != 0 || !write;
            let create = oflags & oflags::CREAT != 0;
            let excl = create && oflags & oflags::EXCL != 0;
            let options = |create: bool, write: bool| {
                let mut opts = cap_std::fs::OpenOptions::new();
                opts.read(read)
                    .write(write)
                    .create(create && !excl)
                    .create_new(excl)
                    .truncate(trunc)
                    // std-style options refuse append with truncate; the
                    // flag is set after opening instead (below).
                    .append(fdflags & fdflags::APPEND != 0 && !trunc)
                    .follow(follow_opt)
                    .maybe_dir(true)
                    .dsync(fdflags & fdflags::DSYNC != 0)
                    .rsync(fdflags & fdflags::RSYNC != 0)
                    .sync(fdflags & fdflags::SYNC != 0)
                    .nonblock(fdflags & fdflags::NONBLOCK != 0);
                opts
            };
            let file = if create && !write {
                // The host needs write access to create a file; a guest
                // without write rights still cannot write through this fd.
                // An existing file is opened read-only, as POSIX would.
                match excl {
                    false => match dir.open_with(path(&p), &options(false, false)) {
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                            dir.open_with(path(&p), &options(true, true))
                        }
                        other => other,
                    },
                    true => dir.open_with(path(&p), &options(true, true)),
                }
            } else {
                dir.open_with(path(&p), &options(create, write))
            }?
            .into_std();
            if trunc && fdflags & fdflags::APPEND != 0 {
                let fl = rustix::fs::fcntl_getfl(&file)?;
                rustix::fs::fcntl_setfl(&file, fl | rustix::fs::OFlags::APPEND)?;
            }
            let ft = fstat(file.as_fd())?.filetype;
            if ft == filetype::DIRECTORY {
                if write || base & rights::FD_WRITE != 0 {
                    return Err(Errno::Isdir);
                }
                Entry::new(
                    Kind::Dir(DirHandle {
                        dir: cap_std::fs::Dir::from_std_file(file),
                        listing: None,
                    }),
                    filetype::DIRECTORY,
                    base & rights::DIRECTORY,
                    inheriting,
                )
            } else {
                Entry::new(Kind::File(file), ft, base & rights::FILE, inheriting)
            }
        };
        entry.flags = kept_flags;
        let fd = self.table.insert(entry)?;
        mem.write_u32(opened, fd as u32)
    }

    pub(crate) fn path_create_directory(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        p: u32,
        len: u32,
    ) -> WasiResult<()> {
        let p = mem.read_path(p, len)?;
        let dir = self.dir_for(fd, rights::PATH_CREATE_DIRECTORY)?;
        no_escape_through_last(dir, &p)?;
        dir.create_dir(path(&p))?;
        Ok(())
    }

    pub(crate) fn path_filestat_get(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        flags: u32,
        p: u32,
        len: u32,
        out: u32,
    ) -> WasiResult<()> {
        let p = mem.read_path(p, len)?;
        let follow = follow(flags)?;
        let dir = self.dir_for(fd, rights::PATH_FILESTAT_GET)?;
        no_escape_through_last(dir, &p)?;
        let md = if follow {
            dir.metadata(path(&p))?
        } else {
            dir.symlink_metadata(path(&p))?
        };
        let st = Filestat {
            dev: md.dev(),
            ino: md.ino(),
            filetype: filetype_of(md.file_type()),
            nlink: md.nlink(),
            size: md.len(),
            atim: nanos(md.atime(), md.atime_nsec()),
            mtim: nanos(md.mtime(), md.mtime_nsec()),
            ctim: nanos(md.ctime(), md.ctime_nsec()),
        };
        st.write(mem, out)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn path_filestat_set_times(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        flags: u32,
        p: u32,
        len: u32,
        atim: u64,
        mtim: u64,
        fst: u16,
    ) -> WasiResult<()> {
        let p = mem.read_path(p, len)?;
        let follow = follow(flags)?;
        crate::fd::timestamps(atim, mtim, fst)?;
        let dir = self.dir_for(fd, rights::PATH_FILESTAT_SET_TIMES)?;
        no_escape_through_last(dir, &p)?;
        let a = time_spec(atim, fst, fstflags::ATIM, fstflags::ATIM_NOW);
        let m = time_spec(mtim, fst, fstflags::MTIM, fstflags::MTIM_NOW);
        if follow {
            dir.set_times(path(&p), a, m)?;
        } else {
            dir.set_symlink_times(path(&p), a, m)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn path_link(
        &mut self,
        mem: &mut GuestMemory,
        old_fd: i32,
        old_flags: u32,
        old_p: u32,
        old_len: u32,
        new_fd: i32,
        new_p: u32,
        new_len: u32,
    ) -> WasiResult<()> {
        let old = mem.read_path(old_p, old_len)?;
        let new = mem.read_path(new_p, new_len)?;
        if follow(old_flags)? {
            // As in Wasmtime: following the source symlink is not supported.
            return Err(Errno::Inval);
        }
        let old_dir = self.dir_for(old_fd, rights::PATH_LINK_SOURCE)?;
        let new_dir = self.dir_for(new_fd, rights::PATH_LINK_TARGET)?;
        no_escape_through_last(old_dir, &old)?;
        no_escape_through_last(new_dir, &new)?;
        old_dir.hard_link(path(&old), new_dir, path(&new))?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn path_readlink(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        p: u32,
        len: u32,
        buf: u32,
        buf_len: u32,
        bufused: u32,
    ) -> WasiResult<()> {
        let p = mem.read_path(p, len)?;
        mem.slice(buf, buf_len)?;
        mem.check(bufused, 4, 4)?;
        let dir = self.dir_for(fd, rights::PATH_READLINK)?;
        no_escape_through_last(dir, &p)?;
        let target = dir.read_link_contents(path(&p))?;
        // An absolute target would show the guest a host path (and a
        // relative one is all a sandboxed guest can follow): refuse it, as
        // Wasmtime (cap-std's `read_link`) does.
        if target.has_root() {
            return Err(Errno::Perm);
        }
        let bytes = target.as_os_str().as_bytes();
        let n = bytes.len().min(buf_len as usize);
        mem.write_bytes(buf, &bytes[..n])?;
        mem.write_u32(bufused, n as u32)
    }

    pub(crate) fn path_remove_directory(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        p: u32,
        len: u32,
    ) -> WasiResult<()> {
        let p = mem.read_path(p, len)?;
        let dir = self.dir_for(fd, rights::PATH_REMOVE_DIRECTORY)?;
        no_escape_through_last(dir, &p)?;
        // `rmdir("d/")` removes `d`; the host call wants no slash.
        let (p, _) = strip_slashes(&p);
        dir.remove_dir(path(p))?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn path_rename(
        &mut self,
        mem: &mut GuestMemory,
        old_fd: i32,
        old_p: u32,
        old_len: u32,
        new_fd: i32,
        new_p: u32,
        new_len: u32,
    ) -> WasiResult<()> {
        let old = mem.read_path(old_p, old_len)?;
        let new = mem.read_path(new_p, new_len)?;
        let old_dir = self.dir_for(old_fd, rights::PATH_RENAME_SOURCE)?;
        let new_dir = self.dir_for(new_fd, rights::PATH_RENAME_TARGET)?;
        no_escape_through_last(old_dir, &old)?;
        no_escape_through_last(new_dir, &new)?;
        // A trailing slash on either name says "a directory": check that the
        // source is one (without following a symlink), then rename without
        // the slashes, as POSIX `rename` does.
        let (old_s, old_slash) = strip_slashes(&old);
        let (new_s, new_slash) = strip_slashes(&new);
        if old_slash || new_slash {
            must_be_dir(old_dir, old_s)?;
        }
        old_dir.rename(path(old_s), new_dir, path(new_s))?;
        Ok(())
    }

    pub(crate) fn path_symlink(
        &mut self,
        mem: &mut GuestMemory,
        old_p: u32,
        old_len: u32,
        fd: i32,
        new_p: u32,
        new_len: u32,
    ) -> WasiResult<()> {
        let old = mem.read_path(old_p, old_len)?;
        let new = mem.read_path(new_p, new_len)?;
        let dir = self.dir_for(fd, rights::PATH_SYMLINK)?;
        no_escape_through_last(dir, &new)?;
        // cap-std refuses absolute targets; relative ones that climb out are
        // created but can never be followed out of the sandbox.
        dir.symlink(path(&old), path(&new))?;
        Ok(())
    }

    pub(crate) fn path_unlink_file(
        &mut self,
        mem: &mut GuestMemory,
        fd: i32,
        p: u32,
        len: u32,
    ) -> WasiResult<()> {
        let p = mem.read_path(p, len)?;
        let dir = self.dir_for(fd, rights::PATH_UNLINK_FILE)?;
        no_escape_through_last(dir, &p)?;
        dir.remove_file(path(&p))?;
        Ok(())
    }
}
