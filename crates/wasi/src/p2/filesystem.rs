//! `wasi:filesystem`: preopens and descriptors. A descriptor is a
//! preview1 fd of the context (so its rights, the preopens' sandbox and
//! the fd limit are preview1's), and each method runs the preview1
//! operation that does the same thing through the scratch bridge.
//! `descriptor-flags` map to rights: without `write` an fd gets no right
//! that changes a file; without `mutate-directory`, none that changes a
//! directory, and asking for either through a descriptor that lacks it is
//! `not-permitted`.

use std::collections::VecDeque;

use anyhow::{Result, bail};
use hayate::StoreContextMut;
use hayate_component::{Linker, Val};

use super::bridge::{Scratch, error_code, path};
use super::io::{InputStream, IoError, OutputStream};
use super::{
    GetCtx, MAX_READ, arg, arg_flag, arg_res, arg_str, arg_u64, err, handle, interface, ok,
    resource, ret,
};
use crate::ctx::WasiCtx;
use crate::errno::{Errno, WasiResult};
use crate::fd::Filestat;
use crate::table::{DirHandle, Entry, Kind};
use crate::types::{fdflags, filetype, fstflags, layout, lookupflags, oflags, rights};

/// `wasi:filesystem/types`' `descriptor`: a preview1 fd.
pub(crate) struct Descriptor {
    fd: i32,
}

/// `directory-entry-stream`: a listing taken when it was opened.
pub(crate) struct DirectoryEntryStream {
    entries: VecDeque<(String, &'static str)>,
}

fn descriptor_type(ft: u8) -> &'static str {
    match ft {
        filetype::BLOCK_DEVICE => "block-device",
        filetype::CHARACTER_DEVICE => "character-device",
        filetype::DIRECTORY => "directory",
        filetype::REGULAR_FILE => "regular-file",
        filetype::SOCKET_DGRAM | filetype::SOCKET_STREAM => "socket",
        filetype::SYMBOLIC_LINK => "symbolic-link",
        _ => "unknown",
    }
}

/// The `result<T, error-code>` of a preview1 operation.
fn fs_result<X>(r: WasiResult<X>, ok_val: impl FnOnce(X) -> Option<Val>) -> Val {
    match r {
        Ok(x) => ok(ok_val(x)),
        Err(e) => err(Val::Enum(error_code(e).into())),
    }
}

fn datetime(nanos: u64) -> Val {
    Val::Record(vec![
        ("seconds".into(), Val::U64(nanos / 1_000_000_000)),
        (
            "nanoseconds".into(),
            Val::U32((nanos % 1_000_000_000) as u32),
        ),
    ])
}

fn stat_val(st: Filestat) -> Val {
    let time = |t: u64| Val::Option(Some(Box::new(datetime(t))));
    Val::Record(vec![
        (
            "type".into(),
            Val::Enum(descriptor_type(st.filetype).into()),
        ),
        ("link-count".into(), Val::U64(st.nlink)),
        ("size".into(), Val::U64(st.size)),
        ("data-access-timestamp".into(), time(st.atim)),
        ("data-modification-timestamp".into(), time(st.mtim)),
        ("status-change-timestamp".into(), time(st.ctim)),
    ])
}

fn hash_val(st: Filestat) -> Val {
    Val::Record(vec![
        ("lower".into(), Val::U64(st.ino)),
        ("upper".into(), Val::U64(st.dev)),
    ])
}

/// A filestat a preview1 call wrote at `at` of `s`.
fn read_filestat(s: &Scratch, at: u32) -> Filestat {
    Filestat {
        dev: s.u64_at(at),
        ino: s.u64_at(at + 8),
        filetype: s.u8_at(at + 16),
        nlink: s.u64_at(at + 24),
        size: s.u64_at(at + 32),
        atim: s.u64_at(at + 40),
        mtim: s.u64_at(at + 48),
        ctim: s.u64_at(at + 56),
    }
}

/// The preview1 `fstflags` and times of two `new-timestamp`s.
fn timestamps(atime: &Val, mtime: &Val) -> Result<(u64, u64, u16)> {
    let one = |v: &Val, set: u16, now: u16| -> Result<(u64, u16)> {
        Ok(match v {
            Val::Variant(case, payload) => match (case.as_str(), payload.as_deref()) {
                ("no-change", _) => (0, 0),
                ("now", _) => (0, now),
                ("timestamp", Some(Val::Record(fields))) => {
                    let get = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v);
                    let (Some(Val::U64(s)), Some(Val::U32(ns))) =
                        (get("seconds"), get("nanoseconds"))
                    else {
                        bail!("a malformed datetime");
                    };
                    let t = s
                        .saturating_mul(1_000_000_000)
                        .saturating_add(u64::from(*ns));
                    (t, set)
                }
                _ => bail!("a malformed new-timestamp"),
            },
            other => bail!("expected a new-timestamp, found {other:?}"),
        })
    };
    let (a, af) = one(atime, fstflags::ATIM, fstflags::ATIM_NOW)?;
    let (m, mf) = one(mtime, fstflags::MTIM, fstflags::MTIM_NOW)?;
    Ok((a, m, af | mf))
}

impl WasiCtx {
    fn filestat(&mut self, fd: i32) -> WasiResult<Filestat> {
        let mut s = Scratch::default();
        let out = s.reserve(layout::FILESTAT_SIZE as usize);
        self.fd_filestat_get(&mut s.mem(), fd, out)?;
        Ok(read_filestat(&s, out))
    }

    /// The size of the file behind `fd` (where appends go).
    pub(super) fn file_size(&mut self, fd: i32) -> WasiResult<u64> {
        Ok(self.filestat(fd)?.size)
    }

    fn stat_at(&mut self, fd: i32, follow: bool, p: &str) -> WasiResult<Filestat> {
        let mut s = Scratch::default();
        let (p, len) = path(&mut s, p)?;
        let out = s.reserve(layout::FILESTAT_SIZE as usize);
        let flags = if follow {
            lookupflags::SYMLINK_FOLLOW
        } else {
            0
        };
        self.path_filestat_get(&mut s.mem(), fd, flags, p, len, out)?;
        Ok(read_filestat(&s, out))
    }

    /// `open-at`: the preview1 `path_open` with rights from the flags.
    fn open_at(
        &mut self,
        dirfd: i32,
        follow: bool,
        p: &str,
        oflags: u16,
        (read, write, mutate): (bool, bool, bool),
    ) -> WasiResult<i32> {
        let parent = self.table.get(dirfd)?;
        if (write || mutate) && parent.base & rights::PATH_CREATE_FILE == 0 {
            return Err(Errno::Perm);
        }
        let mut base = parent.inheriting;
        let mut inheriting = parent.inheriting;
        if !write || oflags & oflags::DIRECTORY != 0 {
            base &= !rights::FILE_MUTATE;
        }
        if !read && write {
            base &= !(rights::FD_READ | rights::FD_READDIR);
        }
        if !mutate {
            base &= !rights::DIRECTORY_MUTATE;
            inheriting &= !(rights::DIRECTORY_MUTATE | rights::FILE_MUTATE);
        }
        let mut s = Scratch::default();
        let (p, len) = path(&mut s, p)?;
        let out = s.reserve(4);
        let dirflags = if follow {
            lookupflags::SYMLINK_FOLLOW
        } else {
            0
        };
        self.path_open(
            &mut s.mem(),
            dirfd,
            dirflags,
            p,
            len,
            oflags,
            base,
            inheriting,
            0,
            out,
        )?;
        Ok(s.u32_at(out) as i32)
    }

    /// A new fd for preopened directory `fd`, for `get-directories`.
    fn dup_dir(&mut self, fd: i32) -> WasiResult<i32> {
        let entry = self.table.get(fd)?;
        let dir = entry.dir()?.try_clone()?;
        let copy = Entry::new(
            Kind::Dir(DirHandle { dir, listing: None }),
            entry.filetype,
            entry.base,
            entry.inheriting,
        );
        self.table.insert(copy)
    }

    fn descriptor_flags(&mut self, fd: i32) -> WasiResult<Val> {
        let entry = self.table.get(fd)?;
        let mut set = Vec::new();
        let mut flag = |on: bool, name: &str| {
            if on {
                set.push(name.to_string());
            }
        };
        flag(entry.base & rights::FD_READ != 0 || entry.is_dir(), "read");
        flag(entry.base & rights::FD_WRITE != 0, "write");
        flag(entry.flags & fdflags::SYNC != 0, "file-integrity-sync");
        flag(entry.flags & fdflags::DSYNC != 0, "data-integrity-sync");
        flag(entry.flags & fdflags::RSYNC != 0, "requested-write-sync");
        flag(
            entry.is_dir() && entry.base & rights::PATH_CREATE_FILE != 0,
            "mutate-directory",
        );
        Ok(Val::Flags(set))
    }
}

/// The preview1 fd of descriptor argument `i`.
fn fd_arg(ctx: &WasiCtx, args: &[Val], i: usize) -> Result<i32> {
    Ok(ctx.p2.get(&arg_res::<Descriptor>(args, i)?)?.fd)
}

/// Runs a preview1 path operation on `fd` with `paths` in scratch memory.
fn with_paths(
    ctx: &mut WasiCtx,
    paths: &[&str],
    op: impl FnOnce(&mut WasiCtx, &mut Scratch, &[(u32, u32)]) -> WasiResult<()>,
) -> WasiResult<()> {
    let mut s = Scratch::default();
    let placed = paths
        .iter()
        .map(|p| path(&mut s, p))
        .collect::<WasiResult<Vec<_>>>()?;
    op(ctx, &mut s, &placed)
}

type Method = fn(&mut WasiCtx, i32, &[Val]) -> Result<Val>;

/// Defines `[method]descriptor.NAME` as `body(ctx, fd, args)`.
fn method<T: 'static>(
    inst: &mut hayate_component::LinkerInstance<'_, T>,
    name: &str,
    get: impl GetCtx<T>,
    body: Method,
) -> Result<()> {
    inst.func_new(
        &format!("[method]descriptor.{name}"),
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let ctx = get(store.data_mut());
            let fd = fd_arg(ctx, args, 0)?;
            let v = body(ctx, fd, args)?;
            ret(results, v)
        },
    )
}

fn add_streams<T: 'static>(
    types: &mut hayate_component::LinkerInstance<'_, T>,
    get: impl GetCtx<T>,
) -> Result<()> {
    for (name, append) in [("write-via-stream", false), ("append-via-stream", true)] {
        types.func_new(
            &format!("[method]descriptor.{name}"),
            move |mut store: StoreContextMut<'_, T>, args, results| {
                let d = arg_res::<Descriptor>(args, 0)?;
                let ctx = get(store.data_mut());
                let fd = ctx.p2.get(&d)?.fd;
                let v = match ctx.table.get(fd).and_then(|e| e.require(rights::FD_WRITE)) {
                    Err(_) => err(Val::Enum("bad-descriptor".into())),
                    Ok(()) => {
                        let stream = match append {
                            true => OutputStream::Append { fd },
                            false => OutputStream::File {
                                fd,
                                offset: arg_u64(args, 1)?,
                            },
                        };
                        ok(Some(handle(ctx.p2.push_child(stream, &d)?)))
                    }
                };
                ret(results, v)
            },
        )?;
    }
    types.func_new(
        "[method]descriptor.read-via-stream",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let d = arg_res::<Descriptor>(args, 0)?;
            let offset = arg_u64(args, 1)?;
            let ctx = get(store.data_mut());
            let fd = ctx.p2.get(&d)?.fd;
            let v = match ctx.table.get(fd).and_then(|e| e.require(rights::FD_READ)) {
                Err(_) => err(Val::Enum("bad-descriptor".into())),
                Ok(()) => {
                    let stream = InputStream::File { fd, offset };
                    ok(Some(handle(ctx.p2.push_child(stream, &d)?)))
                }
            };
            ret(results, v)
        },
    )?;
    types.func_new(
        "[method]descriptor.read-directory",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let ctx = get(store.data_mut());
            let fd = fd_arg(ctx, args, 0)?;
            let v = match ctx.dir_listing(fd) {
                Err(e) => fs_result::<()>(Err(e), |_| None),
                Ok(list) => {
                    let entries = list
                        .into_iter()
                        .filter(|e| e.name != b"." && e.name != b"..")
                        .map(|e| {
                            let name = String::from_utf8_lossy(&e.name).into_owned();
                            (name, descriptor_type(e.filetype))
                        })
                        .collect();
                    let s = ctx.p2.push(DirectoryEntryStream { entries })?;
                    ok(Some(handle(s)))
                }
            };
            ret(results, v)
        },
    )?;
    types.func_new(
        "[method]directory-entry-stream.read-directory-entry",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let s = arg_res::<DirectoryEntryStream>(args, 0)?;
            let next = get(store.data_mut()).p2.get_mut(&s)?.entries.pop_front();
            let entry = next.map(|(name, ty)| {
                Box::new(Val::Record(vec![
                    ("type".into(), Val::Enum(ty.into())),
                    ("name".into(), Val::String(name)),
                ]))
            });
            ret(results, ok(Some(Val::Option(entry))))
        },
    )
}

pub(super) fn add<T: 'static>(linker: &mut Linker<T>, get: impl GetCtx<T>) -> Result<()> {
    let mut types = interface(linker, "wasi:filesystem/types")?;
    resource::<T, Descriptor>(&mut types, "descriptor", get, |ctx, d| {
        let _ = ctx.fd_close(d.fd);
    })?;
    resource::<T, DirectoryEntryStream>(&mut types, "directory-entry-stream", get, |_, _| {})?;
    add_streams(&mut types, get)?;
    method(&mut types, "advise", get, |ctx, fd, args| {
        let advice = match arg(args, 3)? {
            Val::Enum(a) => match a.as_str() {
                "sequential" => 1,
                "random" => 2,
                "will-need" => 3,
                "dont-need" => 4,
                "no-reuse" => 5,
                _ => 0,
            },
            other => bail!("expected an advice, found {other:?}"),
        };
        let r = ctx.fd_advise(fd, arg_u64(args, 1)?, arg_u64(args, 2)?, advice);
        Ok(fs_result(r, |_| None))
    })?;
    method(&mut types, "sync-data", get, |ctx, fd, _| {
        Ok(fs_result(ctx.fd_sync(fd, true), |_| None))
    })?;
    method(&mut types, "sync", get, |ctx, fd, _| {
        Ok(fs_result(ctx.fd_sync(fd, false), |_| None))
    })?;
    method(&mut types, "get-flags", get, |ctx, fd, _| {
        Ok(fs_result(ctx.descriptor_flags(fd), Some))
    })?;
    method(&mut types, "get-type", get, |ctx, fd, _| {
        let ft = ctx.table.get(fd).map(|e| e.filetype);
        Ok(fs_result(ft, |ft| {
            Some(Val::Enum(descriptor_type(ft).into()))
        }))
    })?;
    method(&mut types, "set-size", get, |ctx, fd, args| {
        let r = ctx.fd_filestat_set_size(fd, arg_u64(args, 1)?);
        Ok(fs_result(r, |_| None))
    })?;
    method(&mut types, "set-times", get, |ctx, fd, args| {
        let (a, m, fst) = timestamps(arg(args, 1)?, arg(args, 2)?)?;
        Ok(fs_result(ctx.fd_filestat_set_times(fd, a, m, fst), |_| {
            None
        }))
    })?;
    method(&mut types, "read", get, |ctx, fd, args| {
        let want = arg_u64(args, 1)?.min(MAX_READ) as u32;
        let offset = arg_u64(args, 2)?;
        let mut s = Scratch::default();
        let buf = s.reserve(want as usize);
        let iov = s.iovec(buf, want);
        let nread = s.reserve(4);
        let r = ctx.fd_pread(&mut s.mem(), fd, iov, 1, offset, nread);
        Ok(fs_result(r, |()| {
            let n = s.u32_at(nread);
            let data = s.bytes(buf, n).iter().map(|b| Val::U8(*b)).collect();
            Some(Val::Tuple(vec![
                Val::List(data),
                Val::Bool(n < want || want == 0),
            ]))
        }))
    })?;
    method(&mut types, "write", get, |ctx, fd, args| {
        let Val::List(items) = arg(args, 1)? else {
            bail!("expected a list of bytes");
        };
        let data = items
            .iter()
            .map(|v| match v {
                Val::U8(b) => Ok(*b),
                other => bail!("expected a byte, found {other:?}"),
            })
            .collect::<Result<Vec<u8>>>()?;
        let offset = arg_u64(args, 2)?;
        let mut s = Scratch::default();
        let at = s.put(&data);
        let iov = s.iovec(at, data.len() as u32);
        let n = s.reserve(4);
        let r = ctx.fd_pwrite(&mut s.mem(), fd, iov, 1, offset, n);
        Ok(fs_result(r, |()| Some(Val::U64(u64::from(s.u32_at(n))))))
    })?;
    method(&mut types, "create-directory-at", get, |ctx, fd, args| {
        let r = with_paths(ctx, &[arg_str(args, 1)?], |ctx, s, p| {
            ctx.path_create_directory(&mut s.mem(), fd, p[0].0, p[0].1)
        });
        Ok(fs_result(r, |_| None))
    })?;
    method(&mut types, "stat", get, |ctx, fd, _| {
        Ok(fs_result(ctx.filestat(fd), |st| Some(stat_val(st))))
    })?;
    method(&mut types, "stat-at", get, |ctx, fd, args| {
        let follow = arg_flag(args, 1, "symlink-follow")?;
        let r = ctx.stat_at(fd, follow, arg_str(args, 2)?);
        Ok(fs_result(r, |st| Some(stat_val(st))))
    })?;
    method(&mut types, "set-times-at", get, |ctx, fd, args| {
        let flags = if arg_flag(args, 1, "symlink-follow")? {
            lookupflags::SYMLINK_FOLLOW
        } else {
            0
        };
        let (a, m, fst) = timestamps(arg(args, 3)?, arg(args, 4)?)?;
        let r = with_paths(ctx, &[arg_str(args, 2)?], |ctx, s, p| {
            ctx.path_filestat_set_times(&mut s.mem(), fd, flags, p[0].0, p[0].1, a, m, fst)
        });
        Ok(fs_result(r, |_| None))
    })?;
    method(&mut types, "link-at", get, |ctx, fd, args| {
        let flags = if arg_flag(args, 1, "symlink-follow")? {
            lookupflags::SYMLINK_FOLLOW
        } else {
            0
        };
        let new_fd = fd_arg(ctx, args, 3)?;
        let r = with_paths(ctx, &[arg_str(args, 2)?, arg_str(args, 4)?], |ctx, s, p| {
            ctx.path_link(
                &mut s.mem(),
                fd,
                flags,
                p[0].0,
                p[0].1,
                new_fd,
                p[1].0,
                p[1].1,
            )
        });
        Ok(fs_result(r, |_| None))
    })?;
    method(&mut types, "open-at", get, |ctx, fd, args| {
        let follow = arg_flag(args, 1, "symlink-follow")?;
        let mut of = 0;
        for (name, bit) in [
            ("create", oflags::CREAT),
            ("directory", oflags::DIRECTORY),
            ("exclusive", oflags::EXCL),
            ("truncate", oflags::TRUNC),
        ] {
            if arg_flag(args, 3, name)? {
                of |= bit;
            }
        }
        let access = (
            arg_flag(args, 4, "read")?,
            arg_flag(args, 4, "write")?,
            arg_flag(args, 4, "mutate-directory")?,
        );
        match ctx.open_at(fd, follow, arg_str(args, 2)?, of, access) {
            Ok(new) => Ok(ok(Some(handle(ctx.p2.push(Descriptor { fd: new })?)))),
            Err(e) => Ok(fs_result::<()>(Err(e), |_| None)),
        }
    })?;
    method(&mut types, "readlink-at", get, |ctx, fd, args| {
        let mut s = Scratch::default();
        let (p, len) = path(&mut s, arg_str(args, 1)?).unwrap_or((0, u32::MAX));
        let buf = s.reserve(crate::PATH_MAX as usize);
        let used = s.reserve(4);
        let r = ctx.path_readlink(&mut s.mem(), fd, p, len, buf, crate::PATH_MAX, used);
        Ok(fs_result(r, |()| {
            let target = s.bytes(buf, s.u32_at(used));
            Some(Val::String(String::from_utf8_lossy(target).into_owned()))
        }))
    })?;
    method(&mut types, "remove-directory-at", get, |ctx, fd, args| {
        let r = with_paths(ctx, &[arg_str(args, 1)?], |ctx, s, p| {
            ctx.path_remove_directory(&mut s.mem(), fd, p[0].0, p[0].1)
        });
        Ok(fs_result(r, |_| None))
    })?;
    method(&mut types, "rename-at", get, |ctx, fd, args| {
        let new_fd = fd_arg(ctx, args, 2)?;
        let r = with_paths(ctx, &[arg_str(args, 1)?, arg_str(args, 3)?], |ctx, s, p| {
            ctx.path_rename(&mut s.mem(), fd, p[0].0, p[0].1, new_fd, p[1].0, p[1].1)
        });
        Ok(fs_result(r, |_| None))
    })?;
    method(&mut types, "symlink-at", get, |ctx, fd, args| {
        let r = with_paths(ctx, &[arg_str(args, 1)?, arg_str(args, 2)?], |ctx, s, p| {
            ctx.path_symlink(&mut s.mem(), p[0].0, p[0].1, fd, p[1].0, p[1].1)
        });
        Ok(fs_result(r, |_| None))
    })?;
    method(&mut types, "unlink-file-at", get, |ctx, fd, args| {
        let r = with_paths(ctx, &[arg_str(args, 1)?], |ctx, s, p| {
            ctx.path_unlink_file(&mut s.mem(), fd, p[0].0, p[0].1)
        });
        Ok(fs_result(r, |_| None))
    })?;
    method(&mut types, "is-same-object", get, |ctx, fd, args| {
        let other = fd_arg(ctx, args, 1)?;
        let same = match (ctx.filestat(fd), ctx.filestat(other)) {
            (Ok(a), Ok(b)) => a.dev == b.dev && a.ino == b.ino,
            _ => false,
        };
        Ok(Val::Bool(same))
    })?;
    method(&mut types, "metadata-hash", get, |ctx, fd, _| {
        Ok(fs_result(ctx.filestat(fd), |st| Some(hash_val(st))))
    })?;
    method(&mut types, "metadata-hash-at", get, |ctx, fd, args| {
        let follow = arg_flag(args, 1, "symlink-follow")?;
        let r = ctx.stat_at(fd, follow, arg_str(args, 2)?);
        Ok(fs_result(r, |st| Some(hash_val(st))))
    })?;
    types.func_new(
        "filesystem-error-code",
        move |mut store: StoreContextMut<'_, T>, args, results| {
            let e = arg_res::<IoError>(args, 0)?;
            let errno = get(store.data_mut()).p2.get(&e)?.errno;
            let code = Val::Enum(error_code(errno).into());
            ret(results, Val::Option(Some(Box::new(code))))
        },
    )?;

    let mut preopens = interface(linker, "wasi:filesystem/preopens")?;
    preopens.func_new(
        "get-directories",
        move |mut store: StoreContextMut<'_, T>, _, results| {
            let ctx = get(store.data_mut());
            let named: Vec<(i32, Vec<u8>)> = ctx
                .table
                .fds()
                .filter_map(|fd| Some((fd, ctx.table.get(fd).ok()?.preopen.clone()?)))
                .collect();
            let mut out = Vec::new();
            for (fd, name) in named {
                let copy = match ctx.dup_dir(fd) {
                    Ok(copy) => copy,
                    Err(e) => bail!("cannot open a preopened directory: {}", e.message()),
                };
                let d = ctx.p2.push(Descriptor { fd: copy })?;
                let name = String::from_utf8_lossy(&name).into_owned();
                out.push(Val::Tuple(vec![handle(d), Val::String(name)]));
            }
            ret(results, Val::List(out))
        },
    )?;
    Ok(())
}
