//! A safe VCHIQ connection (work in progress).
