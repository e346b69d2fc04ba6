//! stream-pfd (work in progress)
