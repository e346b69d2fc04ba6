//! remote-policy (work in progress)
