//! What a guest may do in a preopened directory ([`DirPerms`]) and in the
//! files under it ([`FilePerms`]), spelled as Wasmtime spells them, and the
//! WASI rights each combination grants.

use std::ops::BitOr;

use crate::types::rights;

/// Permissions on a preopened directory and the directories under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DirPerms(u8);

impl DirPerms {
    /// List, stat and open what is inside.
    pub const READ: DirPerms = DirPerms(1);
    /// Create, rename, link and remove entries, and set their times.
    pub const MUTATE: DirPerms = DirPerms(2);

    /// No permission at all.
    pub const fn empty() -> DirPerms {
        DirPerms(0)
    }

    /// Every permission.
    pub const fn all() -> DirPerms {
        DirPerms(3)
    }

    /// Whether every permission of `other` is in `self`.
    pub const fn contains(self, other: DirPerms) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for DirPerms {
    type Output = DirPerms;
    fn bitor(self, other: DirPerms) -> DirPerms {
        DirPerms(self.0 | other.0)
    }
}

/// Permissions on the files under a preopened directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FilePerms(u8);

impl FilePerms {
    /// Read files.
    pub const READ: FilePerms = FilePerms(1);
    /// Write, truncate, allocate and set the times of files.
    pub const WRITE: FilePerms = FilePerms(2);

    /// No permission at all.
    pub const fn empty() -> FilePerms {
        FilePerms(0)
    }

    /// Every permission.
    pub const fn all() -> FilePerms {
        FilePerms(3)
    }

    /// Whether every permission of `other` is in `self`.
    pub const fn contains(self, other: FilePerms) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for FilePerms {
    type Output = FilePerms;
    fn bitor(self, other: FilePerms) -> FilePerms {
        FilePerms(self.0 | other.0)
    }
}

/// The rights that reading a directory takes.
const DIRECTORY_READ: u64 = rights::PATH_OPEN
    | rights::FD_READDIR
    | rights::PATH_READLINK
    | rights::PATH_FILESTAT_GET
    | rights::FD_FILESTAT_GET;

/// The rights that reading a file takes.
const FILE_READ: u64 = rights::FD_READ | rights::FD_ADVISE;

/// `(base, inheriting)` rights of a preopened directory with these
/// permissions: the directory's own, and what it passes on to the
/// directories and files opened under it.
pub(crate) fn preopen_rights(dir: DirPerms, file: FilePerms) -> (u64, u64) {
    let mut base = rights::DIRECTORY;
    if !dir.contains(DirPerms::MUTATE) {
        base &= !rights::DIRECTORY_MUTATE;
    }
    if !dir.contains(DirPerms::READ) {
        base &= !DIRECTORY_READ;
    }
    let mut files = rights::FILE;
    if !file.contains(FilePerms::WRITE) {
        files &= !rights::FILE_MUTATE;
    }
    if !file.contains(FilePerms::READ) {
        files &= !FILE_READ;
    }
    (base, base | files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_passes_on_nothing_that_changes_anything() {
        let (base, inheriting) = preopen_rights(DirPerms::READ, FilePerms::READ);
        assert_eq!(base & rights::DIRECTORY_MUTATE, 0);
        assert_eq!(
            inheriting & (rights::DIRECTORY_MUTATE | rights::FILE_MUTATE),
            0
        );
        assert_ne!(inheriting & rights::FD_READ, 0);
        let (base, inheriting) = preopen_rights(DirPerms::all(), FilePerms::all());
        assert_eq!(base, rights::DIRECTORY);
        assert_eq!(inheriting, rights::DIRECTORY | rights::FILE);
        let (_, inheriting) = preopen_rights(DirPerms::all(), FilePerms::WRITE);
        assert_eq!(inheriting & rights::FD_READ, 0);
        assert!(DirPerms::all().contains(DirPerms::READ | DirPerms::MUTATE));
        assert!(!DirPerms::READ.contains(DirPerms::MUTATE));
    }
}
