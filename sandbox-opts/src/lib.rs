//! sandbox-opts (work in progress)
