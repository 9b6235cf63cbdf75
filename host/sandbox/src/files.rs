//! Reading operator files (plugins, policy files, the host config) without trusting what sits in
//! the directory: only regular files are read, never more than a size limit, and opening never
//! blocks.
//!
//! A FIFO in the plugin directory would block `open(2)` for reading until a writer appears, and
//! `read(2)` until it writes; a symlink to `/dev/zero` would never end. Files are therefore opened
//! with `O_NONBLOCK` (which makes opening a FIFO return at once and changes nothing for regular
//! files), checked with `fstat` on the open descriptor (no race between checking and reading),
//! and read up to one byte past the limit.

use std::fs::File;
use std::io::{self, Read as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// Largest policy file or host config read: 1 MiB.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Read the regular file at `path` (symlinks to regular files are fine), at most `max` bytes.
///
/// # Errors
/// The file cannot be opened or read (`NotFound` when it does not exist); it is not a regular
/// file (a FIFO, socket, device or directory: `InvalidInput`, "not a regular file"); or it is
/// larger than `max` bytes (`FileTooLarge`, naming the limit).
pub fn read_regular(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "not a regular file ({}); only regular files are read",
                kind(&meta.file_type())
            ),
        ));
    }
    if meta.len() > max {
        return Err(too_large(meta.len(), max));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&file as &File).take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64, max));
    }
    Ok(bytes)
}

/// [`read_regular`] as UTF-8 text.
///
/// # Errors
/// As [`read_regular`], and `InvalidData` when the file is not UTF-8.
pub fn read_regular_text(path: &Path, max: u64) -> io::Result<String> {
    String::from_utf8(read_regular(path, max)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the file is not UTF-8 text"))
}

fn too_large(len: u64, max: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!(
            "the file is {}, over the limit of {}",
            bytesize::ByteSize(len),
            bytesize::ByteSize(max)
        ),
    )
}

fn kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_regular_files_and_symlinks_to_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.toml");
        std::fs::write(&file, "x = 1\n").unwrap();
        std::os::unix::fs::symlink(&file, dir.path().join("b.toml")).unwrap();
        assert_eq!(read_regular_text(&file, 100).unwrap(), "x = 1\n");
        assert_eq!(
            read_regular(&dir.path().join("b.toml"), 100).unwrap(),
            b"x = 1\n"
        );
        assert_eq!(
            read_regular(&dir.path().join("none"), 100)
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn refuses_fifos_devices_and_directories_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("p.toml");
        let path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        let err = read_regular(&fifo, 100).unwrap_err();
        assert!(
            err.to_string().contains("not a regular file (a FIFO)"),
            "{err}"
        );
        let zero = dir.path().join("z.wasm");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let err = read_regular(&zero, 100).unwrap_err();
        assert!(err.to_string().contains("a character device"), "{err}");
        let err = read_regular(dir.path(), 100).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
    }

    #[test]
    fn refuses_files_over_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.wasm");
        std::fs::write(&file, vec![0u8; 2048]).unwrap();
        let err = read_regular(&file, 1024).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert!(
            err.to_string().contains("over the limit of 1.0 KiB"),
            "{err}"
        );
        assert_eq!(read_regular(&file, 2048).unwrap().len(), 2048);
    }
}
