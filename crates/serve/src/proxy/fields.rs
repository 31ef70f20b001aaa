//! `wasi:http`'s `fields` (headers and trailers): entries in order, names
//! compared without regard to case, each checked to be a valid header
//! name and value, and the hop-by-hop and framing headers a guest may not
//! set (the server owns them) refused as `forbidden`. Fields handed out
//! by `headers()` accessors are immutable copies.

use hyper::header::{HeaderName, HeaderValue};

/// Why a change to fields was refused (`header-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Not a valid header name or value.
    InvalidSyntax,
    /// A header the server owns.
    Forbidden,
    /// The fields cannot be changed.
    Immutable,
}

impl HeaderError {
    /// The case name in `header-error`.
    pub fn case(self) -> &'static str {
        match self {
            HeaderError::InvalidSyntax => "invalid-syntax",
            HeaderError::Forbidden => "forbidden",
            HeaderError::Immutable => "immutable",
        }
    }
}

/// Headers a guest may not set: the connection's framing and hop-by-hop
/// headers, which the server writes itself.
const FORBIDDEN: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
    "http2-settings",
];

/// A `fields` resource.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    entries: Vec<(String, Vec<u8>)>,
    immutable: bool,
}

impl Fields {
    /// Fields that refuse changes, from `entries`.
    pub fn immutable(entries: Vec<(String, Vec<u8>)>) -> Fields {
        Fields {
            entries,
            immutable: true,
        }
    }

    /// An immutable copy.
    pub fn frozen(&self) -> Fields {
        Fields::immutable(self.entries.clone())
    }

    /// A mutable copy.
    pub fn thawed(&self) -> Fields {
        Fields {
            entries: self.entries.clone(),
            immutable: false,
        }
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[(String, Vec<u8>)] {
        &self.entries
    }

    fn check(&self, name: &str) -> Result<String, HeaderError> {
        if self.immutable {
            return Err(HeaderError::Immutable);
        }
        let parsed =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| HeaderError::InvalidSyntax)?;
        if FORBIDDEN.contains(&parsed.as_str()) {
            return Err(HeaderError::Forbidden);
        }
        Ok(parsed.as_str().to_string())
    }

    fn check_value(value: &[u8]) -> Result<(), HeaderError> {
        HeaderValue::from_bytes(value)
            .map(drop)
            .map_err(|_| HeaderError::InvalidSyntax)
    }

    /// The values of `name`.
    pub fn get(&self, name: &str) -> Vec<Vec<u8>> {
        self.entries
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether `name` has a value.
    pub fn has(&self, name: &str) -> bool {
        self.entries
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Replaces the values of `name`.
    pub fn set(&mut self, name: &str, values: Vec<Vec<u8>>) -> Result<(), HeaderError> {
        let name = self.check(name)?;
        values.iter().try_for_each(|v| Self::check_value(v))?;
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        self.entries
            .extend(values.into_iter().map(|v| (name.clone(), v)));
        Ok(())
    }

    /// Removes `name`.
    pub fn delete(&mut self, name: &str) -> Result<(), HeaderError> {
        let name = self.check(name)?;
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        Ok(())
    }

    /// Adds a value of `name`.
    pub fn append(&mut self, name: &str, value: Vec<u8>) -> Result<(), HeaderError> {
        let name = self.check(name)?;
        Self::check_value(&value)?;
        self.entries.push((name, value));
        Ok(())
    }

    /// Mutable fields from `entries`, each checked.
    pub fn from_list(entries: Vec<(String, Vec<u8>)>) -> Result<Fields, HeaderError> {
        let mut f = Fields::default();
        for (name, value) in entries {
            f.append(&name, value)?;
        }
        Ok(f)
    }

    /// As a header map (for the response).
    pub fn to_header_map(&self) -> hyper::HeaderMap {
        let mut map = hyper::HeaderMap::new();
        for (name, value) in &self.entries {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value),
            ) {
                map.append(n, v);
            }
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_check_names_values_and_mutability() {
        let mut f = Fields::default();
        f.append("Content-Type", b"text/plain".to_vec()).unwrap();
        f.append("x-a", b"1".to_vec()).unwrap();
        f.append("X-A", b"2".to_vec()).unwrap();
        assert_eq!(f.get("x-a"), vec![b"1".to_vec(), b"2".to_vec()]);
        assert!(f.has("content-type"));
        assert_eq!(
            f.append("bad name", vec![]),
            Err(HeaderError::InvalidSyntax)
        );
        assert_eq!(
            f.append("x-b", b"a\nb".to_vec()),
            Err(HeaderError::InvalidSyntax)
        );
        assert_eq!(
            f.append("Transfer-Encoding", b"chunked".to_vec()),
            Err(HeaderError::Forbidden)
        );
        f.set("x-a", vec![b"3".to_vec()]).unwrap();
        assert_eq!(f.get("X-A"), vec![b"3".to_vec()]);
        f.delete("x-a").unwrap();
        assert!(!f.has("x-a"));
        let mut frozen = f.frozen();
        assert_eq!(frozen.append("x-c", vec![]), Err(HeaderError::Immutable));
        assert_eq!(f.to_header_map().len(), 1);
    }
}
