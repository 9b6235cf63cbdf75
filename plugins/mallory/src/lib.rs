//! `mallory`: a hostile test plugin. Each tool tries to get past the sandbox; the end-to-end tests
//! (`tests/e2e/test_sandbox.py`) assert that every attempt is refused with a clear error. Never
//! grant it anything you care about.
//!
//! Its resource tools (`open_sockets`, `open_files`, `http_fields`, `write_big`, `set_size`,
//! `symlink`, `http_get_userinfo`, `http_flood`) try to exhaust or abuse the host itself; the tests
//! in `tests/e2e/test_budgets_handles.py` (and `test_traces.py` for `http_flood`'s spans) assert
//! each is bounded and that other plugins keep working.
//!
//! It requests `/data` read-write, the variable `MALLORY_ALLOWED` and the network `*` (whatever the
//! operator grants, so tests can grant a `[network] tcp` address), so tests can grant less
//! (read-only) or nothing and check what it really gets.

use capsule_plugin::prelude::*;

#[derive(Deserialize, JsonSchema)]
struct PathArgs {
    /// A guest path, e.g. `/data/x.txt` or `/etc/passwd`
    path: String,
}

#[derive(Serialize, JsonSchema)]
struct Text {
    text: String,
}

fn read_file(args: PathArgs) -> Result<Text, ToolError> {
    Ok(Text {
        text: std::fs::read_to_string(&args.path)?,
    })
}

#[derive(Serialize, JsonSchema)]
struct Entries {
    entries: Vec<String>,
}

fn list_dir(args: PathArgs) -> Result<Entries, ToolError> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(&args.path)? {
        entries.push(entry?.file_name().to_string_lossy().into_owned());
    }
    entries.sort();
    Ok(Entries { entries })
}

#[derive(Deserialize, JsonSchema)]
struct WriteArgs {
    path: String,
    text: String,
}

#[derive(Serialize, JsonSchema)]
struct Done {
    done: bool,
}

fn write_file(args: WriteArgs) -> Result<Done, ToolError> {
    std::fs::write(&args.path, args.text)?;
    Ok(Done { done: true })
}

#[derive(Deserialize, JsonSchema)]
struct LinkArgs {
    /// Existing path
    from: String,
    /// New link
    to: String,
}

fn hard_link(args: LinkArgs) -> Result<Done, ToolError> {
    std::fs::hard_link(&args.from, &args.to)?;
    Ok(Done { done: true })
}

#[derive(Deserialize, JsonSchema)]
struct NameArgs {
    name: String,
}

#[derive(Serialize, JsonSchema)]
struct Value {
    value: Option<String>,
}

fn env_var(args: NameArgs) -> Result<Value, ToolError> {
    Ok(Value {
        value: std::env::var(&args.name).ok(),
    })
}

#[derive(Serialize, JsonSchema)]
struct Names {
    names: Vec<String>,
}

fn env_names(_: NoArgs) -> Result<Names, ToolError> {
    let mut names: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    names.sort();
    Ok(Names { names })
}

#[derive(Deserialize, JsonSchema)]
struct AllocArgs {
    /// MiB to allocate and touch
    mib: usize,
}

#[derive(Serialize, JsonSchema)]
struct Allocated {
    allocated_mib: usize,
}

fn alloc(args: AllocArgs) -> Result<Allocated, ToolError> {
    let mut blocks = Vec::new();
    for _ in 0..args.mib {
        // 1 MiB at a time, written to so the pages are real.
        blocks.push(vec![0xA5u8; 1 << 20]);
    }
    Ok(Allocated {
        allocated_mib: blocks.len(),
    })
}

#[derive(Deserialize, JsonSchema)]
struct ConnectArgs {
    /// `host:port`, e.g. `127.0.0.1:8080`
    addr: String,
}

fn connect(args: ConnectArgs) -> Result<Done, ToolError> {
    std::net::TcpStream::connect(&args.addr)?;
    Ok(Done { done: true })
}

fn connect_and_read(args: ConnectArgs) -> Result<Text, ToolError> {
    use std::io::Read as _;
    let mut stream = std::net::TcpStream::connect(&args.addr)?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?; // blocks inside a host call until the peer closes
    Ok(Text { text })
}

#[derive(Deserialize, JsonSchema)]
struct BytesArgs {
    bytes: usize,
}

#[derive(Deserialize, JsonSchema)]
struct CountArgs {
    /// How many to open (and keep open until the call ends)
    n: usize,
}

#[derive(Serialize, JsonSchema)]
struct Opened {
    opened: usize,
}

/// Create `n` TCP sockets without connecting them, and hold them.
fn open_sockets(args: CountArgs) -> Result<Opened, ToolError> {
    use wasip2::sockets::network::IpAddressFamily;
    use wasip2::sockets::tcp_create_socket::create_tcp_socket;
    let mut held = Vec::new();
    for i in 0..args.n {
        let socket = create_tcp_socket(IpAddressFamily::Ipv4).map_err(|e| {
            ToolError::denied(format!("socket {} of {} refused: {e:?}", i + 1, args.n))
        })?;
        held.push(socket);
    }
    Ok(Opened { opened: held.len() })
}

/// Open `/data/f0` … `/data/f{n-1}` (created if missing), and hold them.
fn open_files(args: CountArgs) -> Result<Opened, ToolError> {
    let mut held = Vec::new();
    for i in 0..args.n {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(format!("/data/f{i}"))
            .map_err(|e| ToolError::denied(format!("file {} of {} refused: {e}", i + 1, args.n)))?;
        held.push(file);
    }
    Ok(Opened { opened: held.len() })
}

#[derive(Deserialize, JsonSchema)]
struct FieldsArgs {
    /// How many `wasi:http` fields resources to create and hold
    n: usize,
    /// Bytes of header value in each
    bytes: usize,
}

/// Create `n` `wasi:http` fields, each holding a header of `bytes` bytes, and hold them: memory
/// the host allocates for the guest.
fn http_fields(args: FieldsArgs) -> Result<Opened, ToolError> {
    use wasip2::http::types::Fields;
    let value = vec![b'a'; args.bytes];
    let mut held = Vec::new();
    for i in 0..args.n {
        let fields = Fields::new();
        fields.append("x-pad", &value).map_err(|e| {
            ToolError::denied(format!("fields {} of {} refused: {e:?}", i + 1, args.n))
        })?;
        held.push(fields);
    }
    Ok(Opened { opened: held.len() })
}

#[derive(Deserialize, JsonSchema)]
struct SymlinkArgs {
    /// What the link points to, e.g. `../secret.txt`
    target: String,
    /// The link to create, e.g. `/data/sub/link`
    link: String,
}

/// `wasi:filesystem` `symlink-at` on the preopened directory that holds `link` (std has no
/// stable symlink call on WASI).
fn symlink(args: SymlinkArgs) -> Result<Done, ToolError> {
    let (dir, rel) = preopen(&args.link)?;
    dir.symlink_at(&args.target, &rel)
        .map_err(|e| ToolError::denied(format!("symlink-at refused: {e:?}")))?;
    Ok(Done { done: true })
}

#[derive(Deserialize, JsonSchema)]
struct WriteBigArgs {
    path: String,
    /// Bytes to write (in 4 KiB writes)
    bytes: usize,
}

#[derive(Serialize, JsonSchema)]
struct Written {
    written: usize,
}

/// The preopened directory holding `path` and the path relative to it.
fn preopen(path: &str) -> Result<(wasip2::filesystem::types::Descriptor, String), ToolError> {
    wasip2::filesystem::preopens::get_directories()
        .into_iter()
        .find_map(|(dir, root)| {
            let rel = path
                .strip_prefix(root.trim_end_matches('/'))?
                .strip_prefix('/')?;
            Some((dir, rel.to_string()))
        })
        .ok_or_else(|| ToolError::not_found(format!("no preopened directory holds {path}")))
}

/// Write `bytes` bytes to `path` through a `write-via-stream` stream, 64 KiB at a time; a failed
/// write reports the stream's `filesystem-error-code`.
fn write_big(args: WriteBigArgs) -> Result<Written, ToolError> {
    use wasip2::filesystem::types::{DescriptorFlags, OpenFlags, PathFlags, filesystem_error_code};
    use wasip2::io::streams::StreamError;
    let (dir, rel) = preopen(&args.path)?;
    let file = dir
        .open_at(
            PathFlags::empty(),
            &rel,
            OpenFlags::CREATE | OpenFlags::TRUNCATE,
            DescriptorFlags::WRITE,
        )
        .map_err(|e| ToolError::denied(format!("open-at refused: {e:?}")))?;
    let stream = file
        .write_via_stream(0)
        .map_err(|e| ToolError::denied(format!("write-via-stream refused: {e:?}")))?;
    let chunk = vec![b'w'; 4096];
    let mut written = 0;
    while written < args.bytes {
        let n = chunk.len().min(args.bytes - written);
        match stream.blocking_write_and_flush(&chunk[..n]) {
            Ok(()) => written += n,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(ToolError::denied(format!(
                    "write failed after {written} bytes: {:?}",
                    filesystem_error_code(&e)
                )));
            }
            Err(StreamError::Closed) => return Err(ToolError::denied("the stream closed")),
        }
    }
    Ok(Written { written })
}

#[derive(Deserialize, JsonSchema)]
struct SetSizeArgs {
    path: String,
    /// New length in bytes (a sparse extension)
    size: u64,
}

fn set_size(args: SetSizeArgs) -> Result<Done, ToolError> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&args.path)?;
    file.set_len(args.size)
        .map_err(|e| ToolError::denied(format!("set_len failed: {e} ({:?})", e.kind())))?;
    Ok(Done { done: true })
}

#[derive(Deserialize, JsonSchema)]
struct UserinfoArgs {
    /// `http://` authority with user information, e.g. `evil.example:80@127.0.0.1:8080`
    authority: String,
}

#[derive(Serialize, JsonSchema)]
struct Status {
    status: u16,
}

/// GET `http://{authority}/` with the authority as given (user information included).
fn http_get_userinfo(args: UserinfoArgs) -> Result<Status, ToolError> {
    Ok(Status {
        status: http_get(&args.authority)?,
    })
}

/// GET `http://{authority}/`: the response's status.
fn http_get(authority: &str) -> Result<u16, ToolError> {
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{Fields, OutgoingRequest, Scheme};
    let request = OutgoingRequest::new(Fields::new());
    request
        .set_scheme(Some(&Scheme::Http))
        .map_err(|()| ToolError::internal("scheme"))?;
    request
        .set_authority(Some(authority))
        .map_err(|()| ToolError::invalid_arguments("the authority was refused by set-authority"))?;
    request
        .set_path_with_query(Some("/"))
        .map_err(|()| ToolError::internal("path"))?;
    let pending = outgoing_handler::handle(request, None)
        .map_err(|e| ToolError::denied(format!("request refused: {e:?}")))?;
    pending.subscribe().block();
    match pending.get() {
        Some(Ok(Ok(response))) => Ok(response.status()),
        Some(Ok(Err(e))) => Err(ToolError::denied(format!("request failed: {e:?}"))),
        _ => Err(ToolError::internal("the response was lost")),
    }
}

#[derive(Deserialize, JsonSchema)]
struct FloodArgs {
    /// `http://` authority, e.g. `127.0.0.1:8080`
    authority: String,
    /// How many GET requests to send, one after the other
    count: u32,
}

#[derive(Serialize, JsonSchema)]
struct Flooded {
    /// Requests answered with 2xx
    ok: u32,
}

/// GET `http://{authority}/` `count` times in one call: many outgoing requests (and so many
/// client spans) from one call.
fn http_flood(args: FloodArgs) -> Result<Flooded, ToolError> {
    let mut ok = 0;
    for _ in 0..args.count {
        if (200..300).contains(&http_get(&args.authority)?) {
            ok += 1;
        }
    }
    Ok(Flooded { ok })
}

fn output(args: BytesArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::text("m".repeat(args.bytes)))
}

capsule_plugin::plugin! {
    metadata: Metadata::new("mallory", env!("CARGO_PKG_VERSION"))
        .description("Hostile test plugin: tries to escape its sandbox")
        .filesystem("/data", Access::ReadWrite, "the directory it attacks from")
        .env("MALLORY_ALLOWED")
        .network("*"),
    tools: [
        tool("read_file", "Read a file", read_file),
        tool("list_dir", "List a directory", list_dir),
        tool("write_file", "Write a file", write_file),
        tool("hard_link", "Create a hard link", hard_link),
        tool("env_var", "Read an environment variable", env_var),
        tool("env_names", "List the environment variable names", env_names),
        tool("alloc", "Allocate and touch memory", alloc),
        tool("connect", "Open a TCP connection", connect),
        tool("connect_and_read", "Open a TCP connection and read until the peer closes", connect_and_read),
        tool("output", "Return a text block of the given size", output),
        tool("open_sockets", "Create n TCP sockets and hold them", open_sockets),
        tool("open_files", "Open n files under /data and hold them", open_files),
        tool("http_fields", "Create n wasi:http fields of `bytes` bytes each and hold them", http_fields),
        tool("symlink", "Create a symbolic link", symlink),
        tool("write_big", "Write many bytes to a file", write_big),
        tool("set_size", "Set a file's length", set_size),
        tool("http_get_userinfo", "GET http://AUTHORITY/ with user information in the authority", http_get_userinfo),
        tool("http_flood", "GET http://AUTHORITY/ COUNT times in one call", http_flood),
    ],
}
