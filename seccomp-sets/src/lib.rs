//! seccomp-sets (work in progress)
