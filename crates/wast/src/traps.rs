//! Matching a spec test's expected trap message against Hayate's error.
//!
//! The spec interpreter's trap messages are not a contract, and test files
//! sometimes add detail ("uninitialized element 2"). The runner therefore
//! does not compare text blindly. It first normalises the expected message
//! (trailing decimal numbers, which name an index, are dropped), then:
//!
//! 1. if the message appears in [`TRAP_MESSAGES`], the error must be a trap
//!    whose [`Trap`] code is one the table lists for it;
//! 2. otherwise the error's message (the trap's message, or the error's
//!    display text for a non-trap error) must contain the expected text.

use hayate::Trap;

/// The spec suite's trap messages and the trap codes each one accepts.
pub const TRAP_MESSAGES: &[(&str, &[Trap])] = &[
    ("call stack exhausted", &[Trap::StackOverflow]),
    ("out of bounds memory access", &[Trap::MemoryOutOfBounds]),
    ("out of bounds table access", &[Trap::TableOutOfBounds]),
    ("undefined element", &[Trap::TableOutOfBounds]),
    ("uninitialized element", &[Trap::IndirectCallToNull]),
    ("uninitialized", &[Trap::IndirectCallToNull]),
    ("indirect call type mismatch", &[Trap::BadSignature]),
    ("integer overflow", &[Trap::IntegerOverflow]),
    ("integer divide by zero", &[Trap::IntegerDivisionByZero]),
    (
        "invalid conversion to integer",
        &[Trap::BadConversionToInteger],
    ),
    ("unreachable", &[Trap::UnreachableCodeReached]),
    ("unreachable executed", &[Trap::UnreachableCodeReached]),
    ("null reference", &[Trap::NullReference]),
    ("null function reference", &[Trap::NullReference]),
    ("null structure reference", &[Trap::NullReference]),
    ("null array reference", &[Trap::NullReference]),
    ("null i31 reference", &[Trap::NullReference]),
    ("out of bounds array access", &[Trap::ArrayOutOfBounds]),
    ("cast failure", &[Trap::CastFailure]),
    ("unaligned atomic", &[Trap::HeapMisaligned]),
];

/// The expected message with trailing index numbers removed:
/// `"uninitialized element 2"` becomes `"uninitialized element"`.
pub fn normalize(expected: &str) -> &str {
    let mut s = expected.trim();
    while let Some((head, tail)) = s.rsplit_once(' ') {
        if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            s = head.trim_end();
        } else {
            break;
        }
    }
    s
}

/// Whether an error with trap code `trap` (if it is a trap) and text
/// `message` satisfies the spec's `expected` message. See the module docs.
pub fn matches(expected: &str, trap: Option<Trap>, message: &str) -> bool {
    let expected = normalize(expected);
    match TRAP_MESSAGES.iter().find(|(m, _)| *m == expected) {
        Some((_, codes)) => trap.is_some_and(|t| codes.contains(&t)),
        None => {
            let ours = trap.map(Trap::message).unwrap_or(message);
            ours.contains(expected) || message.contains(expected)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_trailing_indices() {
        assert_eq!(
            normalize("uninitialized element 2"),
            "uninitialized element"
        );
        assert_eq!(normalize("integer overflow"), "integer overflow");
        assert_eq!(normalize("x 1 2"), "x");
    }

    #[test]
    fn table_decides_known_messages() {
        assert!(matches(
            "undefined element",
            Some(Trap::TableOutOfBounds),
            ""
        ));
        assert!(matches(
            "uninitialized element 7",
            Some(Trap::IndirectCallToNull),
            ""
        ));
        assert!(matches(
            "call stack exhausted",
            Some(Trap::StackOverflow),
            ""
        ));
        assert!(!matches(
            "integer overflow",
            Some(Trap::IntegerDivisionByZero),
            "integer overflow"
        ));
        assert!(!matches("unreachable", None, "unreachable"));
    }

    #[test]
    fn unknown_messages_need_a_substring() {
        assert!(matches(
            "some host failure",
            None,
            "error: some host failure here"
        ));
        assert!(!matches("some host failure", None, "another error"));
    }
}
