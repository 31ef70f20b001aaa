//! Empty: this crate exists to pin and fetch C sources.
