//! Handle budgets: the open files and sockets one call may hold, and the file descriptors all
//! plugins together may hold.
//!
//! Every file a guest opens (`wasi:filesystem` `open-at`), every TCP socket it creates
//! (`wasi:sockets` `create-tcp-socket`) and every connection an outgoing `wasi:http` request
//! opens is one host file descriptor. Each takes a [`Held`] token from the call's [`FdBudget`]
//! (at most `[limits] max_open_files` files and `[limits] max_sockets` sockets at once) and from
//! the process-wide pool ([`pool_capacity`]), so a hostile plugin can neither run the process out
//! of descriptors nor crowd out the host's own (its accept loop, policy reads, other plugins'
//! mounts).
//!
//! wasmtime-wasi keeps those descriptors in the call's `ResourceTable` and closes them when the
//! guest drops the handle, without telling the embedder. So the tokens of table-held descriptors
//! live in a [`Ledger`] keyed by table index, and a token is given back lazily: when a budget
//! would be exceeded, the ledger first drops the tokens whose entry is gone ([`Ledger::reconcile`]).
//! Everything is given back when the call's store is dropped.
//!
//! Start-up ([`raise_fd_limit`]) raises the soft `RLIMIT_NOFILE` to the hard limit; plugins get
//! half of it (at most [`MAX_POOL`]), the host keeps the rest.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use wasmtime::component::ResourceTable;

/// Most descriptors plugins together may hold, whatever the rlimit.
pub const MAX_POOL: usize = 1 << 16;

/// Descriptors held by plugins right now (tokens out of the pool).
static POOL_IN_USE: AtomicUsize = AtomicUsize::new(0);

/// The soft `RLIMIT_NOFILE` (descriptors the process may have open), or `None` if unknown.
fn soft_nofile() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a valid pointer.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    ok.then_some(limit.rlim_cur)
}

/// Raise the soft `RLIMIT_NOFILE` to the hard limit (call once at start-up, before serving).
/// Returns the soft limit before and after.
///
/// # Errors
/// `getrlimit`/`setrlimit` failed (the limit is then left as it was).
pub fn raise_fd_limit() -> std::io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write one `rlimit` through a valid pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let before = limit.rlim_cur;
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok((before, limit.rlim_cur))
    }
}

/// Descriptors all plugin calls together may hold: half the soft `RLIMIT_NOFILE` as it is on
/// first use (so after [`raise_fd_limit`]), at most [`MAX_POOL`]; 512 if the limit is unknown.
pub fn pool_capacity() -> usize {
    static CAPACITY: OnceLock<usize> = OnceLock::new();
    *CAPACITY.get_or_init(|| {
        soft_nofile()
            .map_or(512, |soft| usize::try_from(soft / 2).unwrap_or(MAX_POOL))
            .min(MAX_POOL)
    })
}

/// What a [`Held`] token stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A file or directory opened with `open-at`.
    File,
    /// A `wasi:sockets` TCP socket or an outgoing `wasi:http` connection.
    Socket,
}

/// Why a descriptor was not granted. The message names the limit and its policy key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exceeded {
    /// The call already holds `limit` of this kind.
    Call { kind: Kind, limit: usize },
    /// Plugins together hold the whole pool (`capacity` descriptors).
    Host { kind: Kind, capacity: usize },
}

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = |kind: &Kind| match kind {
            Kind::File => "open files",
            Kind::Socket => "sockets (TCP sockets and HTTP connections)",
        };
        match self {
            Exceeded::Call { kind, limit } => {
                let key = match kind {
                    Kind::File => "max_open_files",
                    Kind::Socket => "max_sockets",
                };
                write!(
                    f,
                    "the plugin exceeded its limit of {limit} {} held at once by one call \
                     ([limits] {key})",
                    what(kind)
                )
            }
            Exceeded::Host { kind, capacity } => write!(
                f,
                "the host's file descriptors for plugins ({capacity}, shared by every call; the \
                 host keeps the rest of its RLIMIT_NOFILE for itself) are all in use, so the \
                 plugin could not hold more {}; try again later",
                what(kind)
            ),
        }
    }
}

/// One descriptor out of the pool and out of its call's budget; both are given back on drop.
#[derive(Debug)]
pub struct Held {
    count: Arc<AtomicUsize>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::Relaxed);
        POOL_IN_USE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Take one from `counter` if it is below `limit`.
fn take(counter: &AtomicUsize, limit: usize) -> bool {
    counter
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            (n < limit).then_some(n + 1)
        })
        .is_ok()
}

/// The descriptor budget of one call: counts of files and sockets held, against the plugin's
/// limits. Cheap to clone (the HTTP hooks hold one too).
#[derive(Clone, Debug)]
pub struct FdBudget {
    files: Arc<AtomicUsize>,
    sockets: Arc<AtomicUsize>,
    max_files: usize,
    max_sockets: usize,
}

impl FdBudget {
    /// A budget of `max_files` open files and `max_sockets` sockets.
    pub fn new(max_files: usize, max_sockets: usize) -> Self {
        Self {
            files: Arc::default(),
            sockets: Arc::default(),
            max_files,
            max_sockets,
        }
    }

    /// One descriptor of `kind`, if the call and the pool have room.
    ///
    /// # Errors
    /// [`Exceeded`] says which budget is full.
    pub fn acquire(&self, kind: Kind) -> Result<Held, Exceeded> {
        let (count, limit) = match kind {
            Kind::File => (&self.files, self.max_files),
            Kind::Socket => (&self.sockets, self.max_sockets),
        };
        if !take(count, limit) {
            return Err(Exceeded::Call { kind, limit });
        }
        let capacity = pool_capacity();
        if !take(&POOL_IN_USE, capacity) {
            count.fetch_sub(1, Ordering::Relaxed);
            return Err(Exceeded::Host { kind, capacity });
        }
        Ok(Held {
            count: count.clone(),
        })
    }

    /// Files and sockets held now.
    pub fn held(&self) -> (usize, usize) {
        (
            self.files.load(Ordering::Relaxed),
            self.sockets.load(Ordering::Relaxed),
        )
    }
}

/// Things charged per resource-table entry: a descriptor's [`Held`] token, or host bytes. Keyed by
/// table index, with the type the entry had when charged.
#[derive(Debug)]
pub struct Ledger<C> {
    entries: HashMap<u32, (TypeId, C)>,
}

impl<C> Default for Ledger<C> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
        }
    }
}

impl<C> Ledger<C> {
    /// Charge `charge` to the entry at `rep`, of type `T`, replacing (and returning) what it was
    /// charged before.
    pub fn insert<T: Any>(&mut self, rep: u32, charge: C) -> Option<C> {
        self.entries
            .insert(rep, (TypeId::of::<T>(), charge))
            .map(|(_, old)| old)
    }

    /// What the entry at `rep` is charged, if it still holds a `T`.
    pub fn get_mut<T: Any>(&mut self, rep: u32) -> Option<&mut C> {
        self.entries
            .get_mut(&rep)
            .filter(|(ty, _)| *ty == TypeId::of::<T>())
            .map(|(_, c)| c)
    }

    /// Drop the charges of entries that `table` no longer holds (or that now hold another type:
    /// the index was reused); `release` gets each dropped charge.
    pub fn reconcile(&mut self, table: &mut ResourceTable, mut release: impl FnMut(C)) {
        let gone: Vec<u32> = self
            .entries
            .iter()
            .filter(|(rep, (ty, _))| {
                table
                    .get_any_mut(**rep)
                    .map_or(true, |entry| <dyn Any>::type_id(&*entry) != *ty)
            })
            .map(|(rep, _)| *rep)
            .collect();
        for rep in gone {
            if let Some((_, charge)) = self.entries.remove(&rep) {
                release(charge);
            }
        }
    }

    /// Take the charge of the entry at `rep` off the ledger, if it holds a `T`.
    pub fn remove<T: Any>(&mut self, rep: u32) -> Option<C> {
        match self.entries.get(&rep) {
            Some((ty, _)) if *ty == TypeId::of::<T>() => self.entries.remove(&rep).map(|(_, c)| c),
            _ => None,
        }
    }

    /// Charges recorded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is charged.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The handles of one call: its descriptor budget and the tokens of descriptors in its table.
#[derive(Debug)]
pub struct CallHandles {
    pub budget: FdBudget,
    held: Ledger<Held>,
}

impl CallHandles {
    pub fn new(budget: FdBudget) -> Self {
        Self {
            budget,
            held: Ledger::default(),
        }
    }

    /// A token for one more descriptor of `kind`; when the budget looks full, tokens of entries
    /// the guest has dropped are given back first.
    ///
    /// # Errors
    /// [`Exceeded`] if there is still no room.
    pub fn acquire(&mut self, kind: Kind, table: &mut ResourceTable) -> Result<Held, Exceeded> {
        match self.budget.acquire(kind) {
            Ok(held) => Ok(held),
            Err(_) => {
                self.held.reconcile(table, drop);
                self.budget.acquire(kind)
            }
        }
    }

    /// Keep `held` for as long as the table entry `rep` (of type `T`) lives.
    pub fn keep<T: Any>(&mut self, rep: u32, held: Held) {
        self.held.insert::<T>(rep, held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::component::Resource;

    #[test]
    fn the_call_budget_counts_and_gives_back() {
        let budget = FdBudget::new(2, 1);
        let a = budget.acquire(Kind::File).unwrap();
        let _b = budget.acquire(Kind::File).unwrap();
        let err = budget.acquire(Kind::File).unwrap_err();
        assert_eq!(
            err,
            Exceeded::Call {
                kind: Kind::File,
                limit: 2
            }
        );
        assert!(err.to_string().contains("[limits] max_open_files"), "{err}");
        let _s = budget.acquire(Kind::Socket).unwrap();
        assert!(
            budget
                .acquire(Kind::Socket)
                .unwrap_err()
                .to_string()
                .contains("limit of 1 sockets")
        );
        drop(a);
        assert_eq!(budget.held(), (1, 1));
        budget.acquire(Kind::File).unwrap();
    }

    #[test]
    fn dropped_entries_give_their_tokens_back_when_needed() {
        let mut table = ResourceTable::new();
        let mut handles = CallHandles::new(FdBudget::new(2, 0));
        let mut reps = Vec::new();
        for _ in 0..2 {
            let held = handles.acquire(Kind::File, &mut table).unwrap();
            let entry: Resource<String> = table.push(String::from("file")).unwrap();
            handles.keep::<String>(entry.rep(), held);
            reps.push(entry);
        }
        assert!(handles.acquire(Kind::File, &mut table).is_err());
        // The guest drops one; its index is reused by an entry of another type.
        table.delete(reps.remove(0)).unwrap();
        let _other: Resource<u64> = table.push(7u64).unwrap();
        let held = handles.acquire(Kind::File, &mut table).unwrap();
        assert_eq!(handles.budget.held(), (2, 0));
        drop(held);
        assert_eq!(handles.held.len(), 1);
    }
}
