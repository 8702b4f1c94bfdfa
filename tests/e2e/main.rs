//! End-to-end tests across both programs.
