//! Instance creation and in-process calls, with and without the pooling allocator.
//!
//! `cargo bench -p capsule-sandbox --bench instantiate` (part of `make bench`). Needs the hello
//! plugin built by `make plugins` (`target/plugins/hello.wasm`, or `$CAPSULE_BENCH_PLUGIN`).
//!
//! - `instantiate/<allocator>`: [`PluginImage::instantiate`], i.e. what every request pays before
//!   guest code runs: concurrency permit, WASI context from the grants, a `Store` with limits and
//!   deadline, and instantiation from the plugin's `InstancePre`; then the instance is dropped
//!   (which returns a pooled slot).
//! - `call/<allocator>`: [`PluginImage::call_tool`] of `greet` with `{"name":"bench"}`: the above
//!   plus lowering the arguments, running the guest, lifting the result and checking its size.
//!   No MCP, no JSON-RPC, no schema validation: the sandbox's share of a request.
//! - `call-kind/<kind>` (pooling): the same greeting from each kind of component: `capsule`
//!   (hello, our SDK), `plain` (`plain_types`' plain `greet` function, arguments and result
//!   crossing as dynamic `Val`s) and `wasmcp` (`wasmcp_echo`'s `echo` tool, request records built
//!   as `Val`s, answer converted back). Needs those plugins in the same directory as hello.
//!
//! Times are CPU time of the benchmarking thread (user + system, `CLOCK_THREAD_CPUTIME_ID`), not
//! wall time: page faults and `madvise` calls are counted, time spent descheduled while other
//! processes run on a busy machine is not. Everything runs on that one thread (a current-thread
//! tokio runtime; wasmtime's fibers switch stacks on the same thread). Set
//! `CAPSULE_BENCH_WALL=1` to measure wall time instead.
//!
//! Allocators: `on-demand` (fresh mappings per instance), `pooling` (Capsule's default: slots
//! reused, the first [`DEFAULT_KEEP_RESIDENT`] bytes of each memory reset in place and the rest
//! returned to the kernel after each instance) and `pooling-no-keep` (pooling, every dirtied page
//! returned to the kernel).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use capsule_sandbox::grants::policy::Policy;
use capsule_sandbox::runtime::cache::content_hash;
use capsule_sandbox::runtime::{
    Allocator, DEFAULT_KEEP_RESIDENT, POOL_INSTANCES, PluginImage, RequestScope, Runtime,
};
use criterion::{Criterion, criterion_group, criterion_main};

fn plugin_path() -> PathBuf {
    std::env::var_os("CAPSULE_BENCH_PLUGIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins/hello.wasm")
        })
}

/// Size of the benchmark's pools: Capsule's [`POOL_INSTANCES`], or `$CAPSULE_BENCH_POOL_INSTANCES`
/// (a small pool lets the benchmark run under `valgrind --tool=callgrind`, which cannot reserve
/// the address space of a full one).
fn pool_instances() -> u32 {
    std::env::var("CAPSULE_BENCH_POOL_INSTANCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(POOL_INSTANCES)
}

fn allocators() -> [(&'static str, Allocator); 3] {
    let instances = pool_instances();
    [
        ("on-demand", Allocator::OnDemand),
        (
            "pooling",
            Allocator::Pooling {
                keep_resident: DEFAULT_KEEP_RESIDENT,
                instances,
            },
        ),
        (
            "pooling-no-keep",
            Allocator::Pooling {
                keep_resident: 0,
                instances,
            },
        ),
    ]
}

/// A clock for one benchmark thread: its CPU time, or wall time with `CAPSULE_BENCH_WALL=1`.
#[derive(Clone, Copy)]
struct Clock {
    wall: bool,
}

impl Clock {
    fn now(self) -> Duration {
        if self.wall {
            return std::time::UNIX_EPOCH.elapsed().unwrap_or_default();
        }
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux supports.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
}

fn load(rt: &tokio::runtime::Runtime, allocator: Allocator) -> Arc<PluginImage> {
    load_named(rt, allocator, plugin_path(), "hello")
}

/// Load the plugin at `path` as `name`.
fn load_named(
    rt: &tokio::runtime::Runtime,
    allocator: Allocator,
    path: PathBuf,
    name: &str,
) -> Arc<PluginImage> {
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); run `make plugins` first",
            path.display()
        )
    });
    let runtime = Runtime::with_allocator(None, allocator).expect("engine");
    let hash = content_hash(&bytes);
    let loaded = rt
        .block_on(PluginImage::load(
            &runtime,
            name,
            path,
            bytes,
            hash,
            &Policy::default(),
        ))
        .unwrap_or_else(|e| panic!("{name} loads: {e}"));
    loaded.image.clone()
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let clock = Clock {
        wall: std::env::var_os("CAPSULE_BENCH_WALL").is_some_and(|v| v == "1"),
    };
    let images: Vec<(&str, Arc<PluginImage>)> = allocators()
        .iter()
        .map(|(name, allocator)| (*name, load(&rt, *allocator)))
        .collect();

    let mut group = c.benchmark_group("instantiate");
    for (name, image) in &images {
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let t0 = clock.now();
                    for _ in 0..iters {
                        image.instantiate().await.expect("instantiates");
                    }
                    clock.now() - t0
                })
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("call");
    for (name, image) in &images {
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let t0 = clock.now();
                    for _ in 0..iters {
                        let out = image
                            .call_tool(
                                RequestScope::default(),
                                "greet",
                                r#"{"name":"bench"}"#.to_string(),
                                None,
                            )
                            .await
                            .expect("greet answers");
                        std::hint::black_box(out);
                    }
                    clock.now() - t0
                })
            })
        });
    }
    group.finish();

    let pooling = allocators()[1].1;
    let dir = plugin_path()
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let kinds = [
        (
            "capsule",
            images[1].1.clone(),
            "greet",
            r#"{"name":"bench"}"#,
        ),
        (
            "plain",
            load_named(&rt, pooling, dir.join("plain_types.wasm"), "plain_types"),
            "greet",
            r#"{"name":"bench"}"#,
        ),
        (
            "wasmcp",
            load_named(&rt, pooling, dir.join("wasmcp_echo.wasm"), "wasmcp_echo"),
            "echo",
            r#"{"text":"bench"}"#,
        ),
    ];
    let mut group = c.benchmark_group("call-kind");
    for (kind, image, tool, arguments) in &kinds {
        group.bench_function(*kind, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let t0 = clock.now();
                    for _ in 0..iters {
                        let out = image
                            .call_tool(RequestScope::default(), tool, arguments.to_string(), None)
                            .await
                            .expect("the tool answers");
                        std::hint::black_box(out);
                    }
                    clock.now() - t0
                })
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = instantiate;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(instantiate);
