//! What a guest may do in a preopened directory and below it, spelled as
//! Wasmtime 49 spells it ([`FsPerms`]), and the WASI rights each grants.

use crate::types::rights;

/// Permissions on a preopened directory and everything under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FsPerms {
    /// Read files and list directories, and change nothing.
    ReadOnly,
    /// Everything: create, write, rename, link and remove too.
    ReadWrite,
}

/// `(base, inheriting)` rights of a preopened directory with `perms`: the
/// directory's own, and what it passes on to the directories and files
/// opened under it.
pub(crate) fn preopen_rights(perms: FsPerms) -> (u64, u64) {
    match perms {
        FsPerms::ReadWrite => (rights::DIRECTORY, rights::DIRECTORY | rights::FILE),
        FsPerms::ReadOnly => (
            rights::DIRECTORY & !rights::DIRECTORY_MUTATE,
            (rights::DIRECTORY | rights::FILE) & !(rights::DIRECTORY_MUTATE | rights::FILE_MUTATE),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_passes_on_nothing_that_changes_anything() {
        let (base, inheriting) = preopen_rights(FsPerms::ReadOnly);
        assert_eq!(base & rights::DIRECTORY_MUTATE, 0);
        assert_eq!(
            inheriting & (rights::DIRECTORY_MUTATE | rights::FILE_MUTATE),
            0
        );
        assert_ne!(inheriting & rights::FD_READ, 0);
        let (base, inheriting) = preopen_rights(FsPerms::ReadWrite);
        assert_eq!(base, rights::DIRECTORY);
        assert_eq!(inheriting, rights::DIRECTORY | rights::FILE);
    }
}
