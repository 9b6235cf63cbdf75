//! `mallory`: a hostile test plugin. Each tool tries to get past the sandbox; the end-to-end tests
//! (`tests/e2e/test_sandbox.py`) assert that every attempt is refused with a clear error. Never
//! grant it anything you care about.
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
    ],
}
