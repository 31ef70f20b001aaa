//! `poll_oneoff` (waiting for clocks and file descriptors) and
//! `sched_yield`; clocks are in `clock.rs`.

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};
use rustix::time::Timespec;

use crate::clock::now;
use crate::ctx::WasiCtx;
use crate::errno::{Errno, WasiResult};
use crate::memory::GuestMemory;
use crate::table::Kind;
use crate::types::{eventtype, filetype, flags, layout, rights};

/// The most subscriptions one `poll_oneoff` call may pass (more fail with
/// `inval`): enough for a read and a write subscription on every fd a
/// guest can hold ([`crate::MAX_FDS`]), plus a clock.
pub const MAX_SUBSCRIPTIONS: u32 = 2 * crate::MAX_FDS as u32 + 1;

/// Whether `fd` is ready now for reading (or writing); `None` (an
/// in-memory pipe) always is.
pub(crate) fn ready_now(fd: Option<BorrowedFd<'_>>, read: bool) -> bool {
    let Some(fd) = fd else {
        return true;
    };
    let flags = if read { PollFlags::IN } else { PollFlags::OUT };
    let mut fds = [PollFd::from_borrowed_fd(fd, flags)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
}

struct Event {
    userdata: u64,
    error: Errno,
    kind: u8,
    nbytes: u64,
    hangup: bool,
}

enum Pending {
    Clock {
        userdata: u64,
        deadline: Option<Instant>,
    },
    Fd {
        userdata: u64,
        kind: u8,
        slot: usize,
    },
}

impl WasiCtx {
    pub(crate) fn sched_yield(&mut self) -> WasiResult<()> {
        std::thread::yield_now();
        Ok(())
    }

    pub(crate) fn poll_oneoff(
        &mut self,
        mem: &mut GuestMemory,
        input: u32,
        output: u32,
        n: u32,
        nevents: u32,
    ) -> WasiResult<()> {
        if n == 0 {
            return Err(Errno::Inval);
        }
        let in_size = n
            .checked_mul(layout::SUBSCRIPTION_SIZE)
            .ok_or(Errno::Fault)?;
        let out_size = n.checked_mul(layout::EVENT_SIZE).ok_or(Errno::Fault)?;
        mem.check(input, in_size, 8)?;
        mem.check(output, out_size, 8)?;
        mem.check(nevents, 4, 4)?;
        // The subscriptions are read into host vectors (a few tens of bytes
        // each) and each may cost a syscall: bound their number per call.
        if n > MAX_SUBSCRIPTIONS {
            return Err(Errno::Inval);
        }

        let start = Instant::now();
        let mut events: Vec<Event> = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut pollfds: Vec<PollFd<'_>> = Vec::new();
        for i in 0..n {
            let at = input + i * layout::SUBSCRIPTION_SIZE;
            let userdata = mem.read_u64(at)?;
            let tag = mem.read_u8(at + 8)?;
            let fail = |kind, error| Event {
                userdata,
                error,
                kind,
                nbytes: 0,
                hangup: false,
            };
            match tag {
                eventtype::CLOCK => {
                    let id = mem.read_u32(at + 16)?;
                    let timeout = mem.read_u64(at + 24)?;
                    let abstime = mem.read_u16(at + 40)? & flags::SUBSCRIPTION_CLOCK_ABSTIME != 0;
                    let current = match now(id) {
                        Ok(t) => t,
                        Err(e) => {
                            events.push(fail(eventtype::CLOCK, e));
                            continue;
                        }
                    };
                    let wait = if abstime {
                        timeout.saturating_sub(current)
                    } else {
                        timeout
                    };
                    pending.push(Pending::Clock {
                        userdata,
                        deadline: start.checked_add(Duration::from_nanos(wait)),
                    });
                }
                eventtype::FD_READ | eventtype::FD_WRITE => {
                    let read = tag == eventtype::FD_READ;
                    let fd = mem.read_u32(at + 16)? as i32;
                    let entry = match self.table.get(fd) {
                        Ok(e) => e,
                        Err(e) => {
                            events.push(fail(tag, e));
                            continue;
                        }
                    };
                    let needed = if read {
                        if matches!(entry.kind, Kind::Listener(_)) {
                            rights::SOCK_ACCEPT
                        } else {
                            rights::FD_READ
                        }
                    } else {
                        rights::FD_WRITE
                    };
                    if let Err(e) = entry.require(needed | rights::POLL_FD_READWRITE) {
                        events.push(fail(tag, e));
                        continue;
                    }
                    let host = entry.host_fd();
                    let always_ready = host.is_none()
                        || matches!(entry.kind, Kind::File(_) | Kind::Dir(_))
                            && entry.filetype != filetype::CHARACTER_DEVICE;
                    if always_ready {
                        let nbytes = match (&entry.kind, read) {
                            (Kind::File(f), true) => {
                                let size = f.metadata().map(|m| m.len()).unwrap_or(0);
                                let mut f: &std::fs::File = f;
                                let pos = std::io::Seek::stream_position(&mut f).unwrap_or(0);
                                size.saturating_sub(pos)
                            }
                            _ => 0,
                        };
                        events.push(Event {
                            userdata,
                            error: Errno::Success,
                            kind: tag,
                            nbytes,
                            hangup: false,
                        });
                        continue;
                    }
                    let Some(host) = host else { continue };
                    let pf = if read { PollFlags::IN } else { PollFlags::OUT };
                    pollfds.push(PollFd::from_borrowed_fd(host, pf));
                    pending.push(Pending::Fd {
                        userdata,
                        kind: tag,
                        slot: pollfds.len() - 1,
                    });
                }
                _ => return Err(Errno::Inval),
            }
        }

        // Wait until the earliest clock, unless something is ready already.
        let earliest = pending
            .iter()
            .filter_map(|p| match p {
                Pending::Clock { deadline, .. } => Some(*deadline),
                _ => None,
            })
            .min_by(|a, b| match (a, b) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, _) => std::cmp::Ordering::Greater,
                (_, None) => std::cmp::Ordering::Less,
                (Some(a), Some(b)) => a.cmp(b),
            });
        let blocking_deadline = self.blocking_deadline;
        loop {
            let timeout = if !events.is_empty() {
                Some(Duration::ZERO)
            } else {
                match earliest {
                    None => None,
                    Some(None) => None,
                    Some(Some(d)) => Some(d.saturating_duration_since(Instant::now())),
                }
            };
            // The embedder's bound on blocking (`blocking_deadline`): past
            // it, the call returns with whatever is ready, possibly nothing.
            let cap = blocking_deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let timeout = match (timeout, cap) {
                (Some(t), Some(c)) => Some(t.min(c)),
                (t, c) => t.or(c),
            };
            if pollfds.is_empty() {
                match timeout {
                    Some(t) => std::thread::sleep(t),
                    None if events.is_empty() && earliest.is_none() => break,
                    None => loop {
                        // A clock that never fires and nothing else: sleep
                        // forever, as a blocked process would.
                        std::thread::sleep(Duration::from_secs(3600));
                    },
                }
                break;
            }
            let ts = timeout.map(|t| Timespec {
                tv_sec: t.as_secs() as i64,
                tv_nsec: t.subsec_nanos() as _,
            });
            match rustix::event::poll(&mut pollfds, ts.as_ref()) {
                Ok(_) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }

        let after = Instant::now();
        let past_deadline = blocking_deadline.is_some_and(|d| d <= after);
        for p in &pending {
            match *p {
                Pending::Clock { userdata, deadline } => {
                    if deadline.is_some_and(|d| d <= after) {
                        events.push(Event {
                            userdata,
                            error: Errno::Success,
                            kind: eventtype::CLOCK,
                            nbytes: 0,
                            hangup: false,
                        });
                    }
                }
                Pending::Fd {
                    userdata,
                    kind,
                    slot,
                } => {
                    let rev = pollfds[slot].revents();
                    if rev.is_empty() {
                        continue;
                    }
                    let hangup = rev.contains(PollFlags::HUP);
                    let error = if rev.contains(PollFlags::NVAL) {
                        Errno::Badf
                    } else {
                        Errno::Success
                    };
                    events.push(Event {
                        userdata,
                        error,
                        kind,
                        nbytes: 0,
                        hangup,
                    });
                }
            }
        }

        if events.is_empty() && past_deadline {
            // The linker's wrapper stops the guest (`blocking_deadline`).
            self.blocking_deadline_passed = true;
            return Ok(());
        }
        for (i, ev) in events.iter().enumerate() {
            let at = output + i as u32 * layout::EVENT_SIZE;
            mem.slice_mut(at, layout::EVENT_SIZE)?.fill(0);
            mem.write_u64(at, ev.userdata)?;
            mem.write_u16(at + 8, ev.error as u16)?;
            mem.write_u8(at + 10, ev.kind)?;
            if ev.kind != eventtype::CLOCK {
                mem.write_u64(at + 16, ev.nbytes)?;
                mem.write_u16(
                    at + 24,
                    if ev.hangup {
                        flags::FD_READWRITE_HANGUP
                    } else {
                        0
                    },
                )?;
            }
        }
        mem.write_u32(nevents, events.len() as u32)
    }
}
