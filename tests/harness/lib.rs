//! Shared helpers for end-to-end tests: temp dirs, starting `noc` and `satellite` on 127.0.0.1.
