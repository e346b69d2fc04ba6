//! Reading what libseccomp exports into a file descriptor (BPF, PFC) back into memory.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::OwnedFd;

use libseccomp::ScmpFilterContext;
use libseccomp::error::SeccompError;
use nix::sys::memfd::{MFdFlags, memfd_create};

use crate::error::Error;

/// Lets `write` export the libseccomp context `ctx` into a memfd and reads the bytes back:
/// the shared path of the BPF and PFC exports.
pub(crate) fn export_via_memfd(
    ctx: &ScmpFilterContext,
    format: &'static str,
    write: impl FnOnce(&ScmpFilterContext, &OwnedFd) -> Result<(), SeccompError>,
) -> Result<Vec<u8>, Error> {
    let fd =
        memfd_create(c"seccomp-sets-export", MFdFlags::MFD_CLOEXEC).map_err(|e| Error::Export {
            format,
            source: e.into(),
        })?;
    write(ctx, &fd).map_err(|e| Error::Export {
        format,
        source: std::io::Error::other(e),
    })?;
    let mut file = File::from(fd);
    let mut out = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut out))
        .map_err(|source| Error::Export { format, source })?;
    Ok(out)
}
