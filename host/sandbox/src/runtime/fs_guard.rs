//! Filesystem checks wasmtime-wasi does not make: symlinks that point out of their mount, and the
//! disk quota of read-write mounts. Each is a `wasi:filesystem/types` function replaced in the
//! linker by one that checks, then calls wasmtime-wasi's own implementation (as in
//! [`super::lookup`]).
//!
//! - `symlink-at`: wasmtime-wasi (cap-std) lets a guest *create* a link whose target is outside
//!   the mount (it only refuses to *follow* one), and host tools would follow it. The target must
//!   be relative, and its leading `..` components may climb at most as high as the mount root
//!   from the directory the link is created in ([`link_stays_inside`]); a `..` after a name is
//!   refused too, because the name may be (or later become) a symlink that makes the climb
//!   longer. Refused links answer `not-permitted`, logged and recorded for the call's result.
//!   Renaming a directory that holds a link with leading `..` can still move the link higher
//!   (renames are not checked).
//! - Quota ([`crate::grants::quota`]): `write`, `set-size` and the streams of
//!   `write-via-stream` / `append-via-stream` reserve what they add past the file's end; what
//!   does not fit fails with `insufficient-space` (ENOSPC), logged and recorded. Only streams of
//!   files on a mount with a quota are wrapped, so stdout/stderr and socket streams are untouched.

use std::os::fd::AsRawFd;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::filesystem::types::{ErrorCode, Filesize, HostDescriptor};
use wasmtime_wasi::p2::{DynOutputStream, OutputStream, Pollable, StreamError, StreamResult};

use super::CallState;
use crate::grants::quota::{Quota, QuotaExceeded};
use crate::grants::{Denials, Mount};

const FS_TYPES: &str = "wasi:filesystem/types@0.2.12";

/// Why a `symlink-at` was refused: its target could lead out of the link's mount, or where the
/// link would be cannot be told. The message is a clause for the denial sentence.
#[derive(Debug, thiserror::Error)]
pub enum LinkRefused {
    /// The target is the empty string.
    #[error("the target is empty")]
    EmptyTarget,
    /// The target starts at a root (the host would read it as a host path).
    #[error("the target is an absolute path")]
    AbsoluteTarget,
    /// A `..` follows a name, which may be a symlink.
    #[error("'..' after a name (the name may be a symlink) could leave it")]
    ParentAfterName,
    /// The target's leading `..` components (`climbed`) outnumber the levels (`depth`) between
    /// the link's directory and its mount's root.
    #[error(
        "its {climbed} leading '..' climb above the mount's root (the link would be {depth} \
         below it)"
    )]
    ClimbsOut { climbed: usize, depth: usize },
    /// The real path of the directory the link is created in is unknown.
    #[error("the directory's path cannot be read")]
    DirectoryUnknown,
    /// The link's directory could not be canonicalized: the operating system's error.
    #[error("the link's directory cannot be resolved: {0}")]
    Unresolved(#[source] std::io::Error),
    /// The link's directory is below no mount of the plugin.
    #[error("the link is not in a mount")]
    OutsideMounts,
}

/// Whether a symlink with `target`, created in a directory `depth` levels below its mount's root,
/// stays inside the mount: `target` is relative, and `..` components only lead it and number at
/// most `depth`.
///
/// # Errors
/// [`LinkRefused`]: the target is empty or absolute, has a `..` after a name, or climbs above
/// the mount's root.
pub fn link_stays_inside(depth: usize, target: &str) -> Result<(), LinkRefused> {
    if target.is_empty() {
        return Err(LinkRefused::EmptyTarget);
    }
    let mut climbed = 0;
    let mut named = false;
    for component in Path::new(target).components() {
        match component {
            Component::RootDir | Component::Prefix(_) => {
                return Err(LinkRefused::AbsoluteTarget);
            }
            Component::CurDir => {}
            Component::ParentDir if named => {
                return Err(LinkRefused::ParentAfterName);
            }
            Component::ParentDir => {
                climbed += 1;
                if climbed > depth {
                    return Err(LinkRefused::ClimbsOut { climbed, depth });
                }
            }
            Component::Normal(_) => named = true,
        }
    }
    Ok(())
}

/// The real path of an open descriptor (Linux: `/proc/self/fd`).
fn real_path(file: &std::fs::File) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
}

/// The mount holding `path` (a real path) and how many levels below its root `path` is.
fn mount_of<'m>(mounts: &'m [Mount], path: &Path) -> Option<(&'m Mount, usize)> {
    mounts
        .iter()
        .filter_map(|m| {
            let below = path.strip_prefix(&m.host).ok()?;
            Some((m, below.components().count()))
        })
        .min_by_key(|(_, depth)| *depth)
}

/// Check a `symlink-at(target, link)` on directory `dir`.
fn check_symlink(
    state: &CallState,
    dir: &Descriptor,
    target: &str,
    link: &str,
) -> Result<(), LinkRefused> {
    let Descriptor::Dir(dir) = dir else {
        return Ok(()); // not a directory: wasmtime-wasi refuses it
    };
    let base = real_path(&dir.dir).ok_or(LinkRefused::DirectoryUnknown)?;
    let parent = Path::new(link).parent().unwrap_or(Path::new(""));
    // Where the link will be, with symlinks in `parent` resolved (cap-std resolves them too,
    // inside the mount).
    let link_dir = std::fs::canonicalize(base.join(parent)).map_err(LinkRefused::Unresolved)?;
    let (_, depth) = mount_of(&state.mounts, &link_dir).ok_or(LinkRefused::OutsideMounts)?;
    link_stays_inside(depth, target)
}

/// The quota of the mount holding `file`, if it has one.
fn quota_of(state: &CallState, file: &std::fs::File) -> Option<Arc<Quota>> {
    if state.mounts.iter().all(|m| m.quota.is_none()) {
        return None;
    }
    let path = real_path(file)?;
    mount_of(&state.mounts, &path)?.0.quota.clone()
}

/// Why a write was refused, logged and kept for the call's result.
fn refuse_write(denials: &Denials, plugin: &str, why: &QuotaExceeded) {
    denials.record(
        plugin,
        format!("write refused for plugin \"{plugin}\": {why} ([filesystem] quota)"),
    );
}

/// Reserve what writing `len` bytes at `offset` of `file` adds past its end.
fn reserve_write(
    quota: &Quota,
    file: &std::fs::File,
    offset: u64,
    len: u64,
) -> Result<(), QuotaExceeded> {
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    quota.reserve(offset.saturating_add(len).saturating_sub(size))
}

/// An output stream of a file on a mount with a quota: each write reserves its growth first.
struct QuotaStream {
    inner: DynOutputStream,
    file: Arc<std::fs::File>,
    quota: Arc<Quota>,
    /// Where the next write goes; `None` appends.
    position: Option<u64>,
    /// The end of what this stream wrote (the file's length may lag behind writes in flight).
    written_end: u64,
    plugin: Arc<str>,
    denials: Denials,
}

#[wasmtime_wasi::async_trait]
impl Pollable for QuotaStream {
    async fn ready(&mut self) {
        self.inner.ready().await
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for QuotaStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        let len = bytes.len() as u64;
        let reserved = match self.position {
            Some(at) => {
                let size = self.file.metadata().map_or(0, |m| m.len());
                let end = at.saturating_add(len);
                let growth = end.saturating_sub(size.max(self.written_end));
                let reserved = self.quota.reserve(growth);
                if reserved.is_ok() {
                    self.written_end = self.written_end.max(end);
                }
                reserved
            }
            None => self.quota.reserve(len),
        };
        if let Err(why) = reserved {
            refuse_write(&self.denials, &self.plugin, &why);
            let enospc = std::io::Error::from_raw_os_error(libc::ENOSPC);
            return Err(StreamError::LastOperationFailed(enospc.into()));
        }
        if let Some(at) = &mut self.position {
            *at += len;
        }
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.inner.flush()
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.inner.check_write()
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await
    }
}

/// Wrap the stream `stream` of descriptor `fd` in a [`QuotaStream`] if its mount has a quota.
fn wrap_stream(
    state: &mut CallState,
    fd: u32,
    stream: &Resource<DynOutputStream>,
    position: Option<u64>,
) -> wasmtime::Result<()> {
    let Ok(Descriptor::File(file)) = state.table.get(&Resource::<Descriptor>::new_borrow(fd))
    else {
        return Ok(());
    };
    let file = file.file.clone();
    let Some(quota) = quota_of(state, &file) else {
        return Ok(());
    };
    let (plugin, denials) = (state.plugin.clone(), state.denials.clone());
    let slot = state.table.get_mut(stream)?;
    let inner = std::mem::replace(slot, Box::new(wasmtime_wasi::p2::pipe::ClosedOutputStream));
    *slot = Box::new(QuotaStream {
        inner,
        file,
        quota,
        position,
        written_end: 0,
        plugin,
        denials,
    });
    Ok(())
}

type FsResult<T> = wasmtime::Result<(Result<T, ErrorCode>,)>;

/// Replace `symlink-at`, `write`, `set-size`, `write-via-stream` and `append-via-stream` in
/// `linker` (which must already hold wasmtime-wasi's WASI 0.2) by the checked ones.
///
/// # Errors
/// The definitions are refused by the linker.
pub fn guard_filesystem(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut types = linker.instance(FS_TYPES)?;
    types.func_wrap_async(
        "[method]descriptor.symlink-at",
        |mut store: StoreContextMut<'_, CallState>,
         (dir, target, link): (Resource<Descriptor>, String, String)| {
            Box::new(async move {
                let state = store.data_mut();
                let checked = check_symlink(state, state.table.get(&dir)?, &target, &link);
                if let Err(why) = checked {
                    let plugin = state.plugin.clone();
                    state.denials.record(
                        &plugin,
                        format!(
                            "symlink '{link}' -> '{target}' refused for plugin \"{plugin}\": \
                             {why}; a link's target must stay inside its [filesystem] mount"
                        ),
                    );
                    return Ok((Err(ErrorCode::NotPermitted),));
                }
                match state.filesystem().symlink_at(dir, target, link).await {
                    Ok(()) => Ok((Ok(()),)),
                    Err(e) => Ok((Err(e.downcast()?),)),
                }
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.write",
        |mut store: StoreContextMut<'_, CallState>,
         (fd, buffer, offset): (Resource<Descriptor>, Vec<u8>, Filesize)| {
            Box::new(async move {
                let state = store.data_mut();
                if let Ok(Descriptor::File(file)) = state.table.get(&fd) {
                    let file = file.file.clone();
                    if let Some(quota) = quota_of(state, &file)
                        && let Err(why) = reserve_write(&quota, &file, offset, buffer.len() as u64)
                    {
                        refuse_write(&state.denials, &state.plugin, &why);
                        return Ok((Err(ErrorCode::InsufficientSpace),));
                    }
                }
                let written: FsResult<Filesize> =
                    match state.filesystem().write(fd, buffer, offset).await {
                        Ok(n) => Ok((Ok(n),)),
                        Err(e) => Ok((Err(e.downcast()?),)),
                    };
                written
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.set-size",
        |mut store: StoreContextMut<'_, CallState>,
         (fd, size): (Resource<Descriptor>, Filesize)| {
            Box::new(async move {
                let state = store.data_mut();
                if let Ok(Descriptor::File(file)) = state.table.get(&fd) {
                    let file = file.file.clone();
                    if let Some(quota) = quota_of(state, &file)
                        && let Err(why) = reserve_write(&quota, &file, size, 0)
                    {
                        refuse_write(&state.denials, &state.plugin, &why);
                        return Ok((Err(ErrorCode::InsufficientSpace),));
                    }
                }
                let done: FsResult<()> = match state.filesystem().set_size(fd, size).await {
                    Ok(()) => Ok((Ok(()),)),
                    Err(e) => Ok((Err(e.downcast()?),)),
                };
                done
            })
        },
    )?;
    types.func_wrap(
        "[method]descriptor.write-via-stream",
        |mut store: StoreContextMut<'_, CallState>,
         (fd, offset): (Resource<Descriptor>, Filesize)|
         -> FsResult<Resource<DynOutputStream>> {
            let state = store.data_mut();
            let rep = fd.rep();
            match state.filesystem().write_via_stream(fd, offset) {
                Ok(stream) => {
                    wrap_stream(state, rep, &stream, Some(offset))?;
                    Ok((Ok(stream),))
                }
                Err(e) => Ok((Err(e.downcast()?),)),
            }
        },
    )?;
    types.func_wrap(
        "[method]descriptor.append-via-stream",
        |mut store: StoreContextMut<'_, CallState>,
         (fd,): (Resource<Descriptor>,)|
         -> FsResult<Resource<DynOutputStream>> {
            let state = store.data_mut();
            let rep = fd.rep();
            match state.filesystem().append_via_stream(fd) {
                Ok(stream) => {
                    wrap_stream(state, rep, &stream, None)?;
                    Ok((Ok(stream),))
                }
                Err(e) => Ok((Err(e.downcast()?),)),
            }
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::link_stays_inside;

    #[test]
    fn link_targets_must_stay_in_the_mount() {
        // (depth of the link's directory below the mount root, target, allowed)
        let cases = [
            (0, "inside.txt", true),
            (0, "./sub/file", true),
            (0, "sub/../file", false), // '..' after a name: `sub` could be a symlink
            (0, "../secret.txt", false),
            (1, "../inside.txt", true),
            (1, "../../secret.txt", false),
            (2, "../../x", true),
            (2, "../../../x", false),
            (3, "./.././../a/b", true),
            (0, "/etc/passwd", false),
            (5, "/data/inside.txt", false), // absolute: the host would read it as a host path
            (0, "", false),
            (0, ".", true),
        ];
        for (depth, target, allowed) in cases {
            assert_eq!(
                link_stays_inside(depth, target).is_ok(),
                allowed,
                "depth {depth}, target {target:?}: {:?}",
                link_stays_inside(depth, target)
            );
        }
        let why = link_stays_inside(1, "../../s").unwrap_err();
        assert!(matches!(
            why,
            super::LinkRefused::ClimbsOut {
                climbed: 2,
                depth: 1
            }
        ));
        let why = why.to_string();
        assert!(
            why.contains("2 leading '..'") && why.contains("1 below"),
            "{why}"
        );
    }
}
