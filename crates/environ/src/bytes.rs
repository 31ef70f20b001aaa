//! Byte strings shared with whatever holds them: a module's data segments
//! and address maps are slices of a mapped artifact when the module was
//! loaded from one (nothing copied, pages read only when used), and owned
//! buffers when it was compiled.

use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;

/// Something that holds bytes for as long as it lives: a `Vec<u8>`, or a
/// mapped file (the runtime's).
pub type ByteOwner = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// A slice of bytes kept alive by its owner. Cloning shares the owner.
#[derive(Clone)]
pub struct SharedBytes {
    owner: ByteOwner,
    range: Range<usize>,
}

impl SharedBytes {
    /// The bytes `range` of `owner`, or `None` if the range does not lie
    /// inside it.
    pub fn slice_of(owner: &ByteOwner, range: Range<usize>) -> Option<SharedBytes> {
        let len = (**owner).as_ref().len();
        (range.start <= range.end && range.end <= len).then(|| SharedBytes {
            owner: owner.clone(),
            range,
        })
    }

    /// No bytes.
    pub fn empty() -> SharedBytes {
        SharedBytes::from(Vec::new())
    }
}

impl Default for SharedBytes {
    fn default() -> SharedBytes {
        SharedBytes::empty()
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(bytes: Vec<u8>) -> SharedBytes {
        let range = 0..bytes.len();
        SharedBytes {
            owner: Arc::new(bytes),
            range,
        }
    }
}

impl From<&[u8]> for SharedBytes {
    fn from(bytes: &[u8]) -> SharedBytes {
        SharedBytes::from(bytes.to_vec())
    }
}

impl Deref for SharedBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        &(*self.owner).as_ref()[self.range.clone()]
    }
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl PartialEq for SharedBytes {
    fn eq(&self, other: &SharedBytes) -> bool {
        **self == **other
    }
}

impl Eq for SharedBytes {}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedBytes({} bytes)", self.range.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_share_their_owner_and_stay_in_bounds() {
        let owner: ByteOwner = Arc::new(b"hello world".to_vec());
        let s = SharedBytes::slice_of(&owner, 6..11).unwrap();
        assert_eq!(&*s, b"world");
        assert_eq!(Arc::strong_count(&owner), 2);
        assert!(SharedBytes::slice_of(&owner, 6..12).is_none());
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = 7..6;
        assert!(SharedBytes::slice_of(&owner, backwards).is_none());
        assert_eq!(SharedBytes::from(&b"world"[..]), s);
    }
}
